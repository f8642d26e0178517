"""contentgen check: the 广告法 check of any text, without a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from contentgen.cli.common import emit, settings_of
from contentgen.compliance import INDUSTRIES
from contentgen.errors import UserFacingError
from contentgen.inputs import split_points
from contentgen.runtime import build_store
from contentgen.usecases.rules import check_text


def cmd_check(args: argparse.Namespace) -> int:
    if args.file and not Path(args.file).is_file():
        raise UserFacingError(f"找不到文件“{args.file}”，请检查路径。")
    text = args.text if args.text is not None else Path(args.file).read_text(encoding="utf-8-sig")
    settings = settings_of(args)
    payload = check_text(build_store(settings), text, brand=args.brand, protected=split_points(args.protect or ""),
                         banned=split_points(args.banned or ""), rules=settings.rules,
                         industry=args.industry or "", platform=args.platform or "")
    lines = [f"[{f['start']}-{f['end']}] “{f['text']}” {f['category']}：{f['rule']}；建议：{f['suggestion']}"
             for f in payload["findings"]]
    emit(args, payload, "\n".join(lines + ["", "建议文案：" + payload["suggested_text"]]) if lines
          else "未发现违规表述。")
    return 0 if payload["compliant"] else 1

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("check", parents=[common], help="广告法合规检查（违规时退出码为 1）")
    text_source = p.add_mutually_exclusive_group(required=True)
    text_source.add_argument("--text")
    text_source.add_argument("--file")
    p.add_argument("--protect", help="不可拆分的品牌/商品名，逗号分隔")
    p.add_argument("--banned", help="品牌自己的禁用词，逗号分隔")
    p.add_argument("--brand", help="按品牌档案检查（品牌名不拆分，加上其禁用词和行业）")
    p.add_argument("--industry", help="加查行业规则包：" + "、".join(INDUSTRIES))
    p.add_argument("--platform", help="发布平台（站外引流规则只查小红书、抖音、微博、电商详情）")
    p.set_defaults(func=cmd_check)

