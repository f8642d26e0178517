"""contentgen brand: brand profiles (tone, audience, keywords, banned words, industry)."""

from __future__ import annotations

import argparse

from contentgen.cli.common import emit, store_of
from contentgen.compliance import GENERAL, INDUSTRIES
from contentgen.errors import UserFacingError
from contentgen.inputs import split_points


def cmd_brand(args: argparse.Namespace) -> int:
    store = store_of(args)
    if args.action == "add":
        if not args.name:
            raise UserFacingError("请用 --name 指定品牌名称。")
        if args.industry and args.industry not in INDUSTRIES:
            raise UserFacingError(f"不支持的行业“{args.industry}”，可选：{'、'.join(INDUSTRIES)}（不填为{GENERAL}）。")
        brand_id = store.brands.save(
            args.name, tone=args.tone or "", audience=args.audience or "",
            required_keywords=split_points(args.keywords or ""), banned_words=split_points(args.banned or ""),
            example_copy=[e for e in (args.example or []) if e.strip()], industry=args.industry or "",
        )
        emit(args, {"id": brand_id, "name": args.name}, f"已保存品牌档案：{args.name}（#{brand_id}）")
        return 0
    payload = [{"id": b.id, "name": b.name, "tone": b.tone, "audience": b.audience,
                "required_keywords": b.required_keywords, "banned_words": b.banned_words,
                "example_copy": b.example_copy, "industry": b.industry} for b in store.brands.list()]
    emit(args, payload, "\n".join(f"{b['name']}\t{b['tone']}\t{b['audience']}" for b in payload) or "还没有品牌档案。")
    return 0

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("brand", parents=[common], help="品牌档案：add 新增/更新，list 列出")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("--name")
    p.add_argument("--tone")
    p.add_argument("--audience")
    p.add_argument("--keywords", help="必须出现的关键词，逗号分隔")
    p.add_argument("--banned", help="品牌禁用词，逗号分隔")
    p.add_argument("--example", action="append", help="品牌过往文案，可重复")
    p.add_argument("--industry", help="行业（其广告法规则包用于该品牌的文案）：" + "、".join(INDUSTRIES))
    p.set_defaults(func=cmd_brand)

