"""`contentgen` command line: one module per command group, each with its parser beside its handler
(`register(sub, common)`); commands parse, call a use case and print. Every command takes --json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from contentgen.cli import (
    accounts,
    alerts,
    batch,
    brands,
    check,
    faq,
    feedback,
    history,
    models,
    serve,
    tasks,
)
from contentgen.errors import UserFacingError

# The order of `contentgen --help`.
GROUPS = (tasks, brands, faq, feedback, check, history, models, batch, accounts, serve, alerts)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="输出 JSON（供脚本使用）")
    common.add_argument("--model", help="内置模型名或 Hugging Face 模型目录（默认取 CONTENTGEN_MODEL）")
    common.add_argument("--db", help="历史库 URL（默认取 CONTENTGEN_DATABASE_URL，否则本机 SQLite）")
    common.add_argument("--user", help="记录到历史中的用户名")
    common.add_argument("--adapter", default="auto",
                        help="LoRA 适配器名；auto（默认）用与任务同名的适配器，none 用基座模型")

    parser = argparse.ArgumentParser(prog="contentgen", description="中文营销文案、客服回复与情感标签")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO if os.environ.get("CONTENTGEN_VERBOSE") else logging.WARNING,
                        format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserFacingError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n已中断（已生成的部分已保存到历史记录）。", file=sys.stderr)
        return 130
