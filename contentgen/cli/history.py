"""contentgen history: past requests and their outputs."""

from __future__ import annotations

import argparse

from contentgen.cli.common import emit, store_of
from contentgen.tasks import TASKS
from contentgen.usecases.history import search_history


def cmd_history(args: argparse.Namespace) -> int:
    rows = search_history(store_of(args), args.search or "", task=args.task,
                          user_name=args.filter_user, limit=args.limit)
    lines = [f"#{p['id']}  {p['created_at'][:19]}  {p['user']}  {p['task_title']}  {p['status']}  "
             f"{(p['shown'][0] if p['shown'] else '')[:40]!s}" for p in rows]
    emit(args, rows, "\n".join(lines) or "没有找到记录。")
    return 0

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("history", parents=[common], help="查看或搜索历史记录")
    p.add_argument("--search", help="关键词（空格分隔，全部匹配）")
    p.add_argument("--task", choices=list(TASKS))
    p.add_argument("--filter-user", help="只看某个用户")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_history)

