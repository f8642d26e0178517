"""contentgen user / apikey: accounts, roles and API keys."""

from __future__ import annotations

import argparse
import sys

from contentgen.cli.common import emit, store_of
from contentgen.errors import UserFacingError
from contentgen.usecases.accounts import ROLES, AccountStore, ApiKeyStore


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("密码：")
    if first != getpass.getpass("再输入一次："):
        raise UserFacingError("两次输入的密码不一致。")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    accounts = AccountStore(store_of(args))
    if args.action == "list":
        users = accounts.list()
        rows = [{"name": u.name, "role": u.role, "active": u.active,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None} for u in users]
        emit(args, rows, "\n".join(f"{u.name}\t{ROLES[u.role]}\t{'启用' if u.active else '停用'}" for u in users)
              or "还没有账号：contentgen user add --name 管理员 --role admin")
        return 0
    if not args.name:
        raise UserFacingError("请用 --name 指定用户名。")
    if args.action == "add":
        account = accounts.add(args.name, _read_password(args), args.role or "marketing")
        emit(args, {"name": account.name, "role": account.role},
              f"已创建用户 {account.name}（{ROLES[account.role]}）。网页界面从现在起需要登录。")
        return 0
    accounts.update(args.name, role=args.role, active={"enable": True, "disable": False}.get(args.action),
                    password=_read_password(args) if args.action == "password" else None)
    emit(args, {"name": args.name, "updated": True}, f"已更新用户 {args.name}。")
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    keys = ApiKeyStore(store_of(args))
    if args.action == "create":
        if not args.name:
            raise UserFacingError("请用 --name 指定这个 Key 属于哪个用户。")
        key = keys.create(args.name)
        emit(args, {"user": args.name, "key": key}, f"{key}\n（只显示这一次，请妥善保存。）")
    elif args.action == "list":
        rows = [{"prefix": k.prefix, "user": k.user_name, "revoked": k.revoked, "created_at": k.created_at.isoformat()}
                for k in keys.list(args.name)]
        emit(args, rows, "\n".join(f"{r['prefix']}…\t{r['user']}\t{'已吊销' if r['revoked'] else '有效'}" for r in rows)
              or "还没有 API Key。")
    else:
        if not args.prefix:
            raise UserFacingError("请用 --prefix 指定要吊销的 Key（contentgen apikey list 中的前缀）。")
        emit(args, {"revoked": keys.revoke(args.prefix)}, "已吊销。")
    return 0

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("user", parents=[common], help="账号：add 新增、list 列出、set/enable/disable/password 修改")
    p.add_argument("action", choices=["add", "list", "set", "enable", "disable", "password"])
    p.add_argument("--name", help="用户名（--user 是记入历史的用户名，不同）")
    p.add_argument("--role", choices=["marketing", "support", "admin"], help="角色：市场 / 客服 / 管理员")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读密码（脚本用），否则交互输入")
    p.set_defaults(func=cmd_user)


    p = sub.add_parser("apikey", parents=[common], help="API Key：create 创建、list 列出、revoke 吊销")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("--name", help="Key 所属的用户名")
    p.add_argument("--prefix", help="revoke：Key 的前缀")
    p.set_defaults(func=cmd_apikey)

