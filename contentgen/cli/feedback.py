"""contentgen feedback: ratings and edits of outputs, and their export as training rows."""

from __future__ import annotations

import argparse
from pathlib import Path

from contentgen.cli.common import emit, store_of
from contentgen.errors import UserFacingError
from contentgen.tasks import TASKS
from contentgen.usecases.feedback import export_dataset, give_feedback


def cmd_feedback(args: argparse.Namespace) -> int:
    store = store_of(args)
    if args.action == "export":
        if not (args.task and args.out):
            raise UserFacingError("导出需要 --task 和 --out。")
        count = export_dataset(store, args.task, Path(args.out))
        emit(args, {"rows": count, "out": args.out},
              f"已导出 {count} 条训练样本到 {args.out}（可直接用于 contentgen finetune --data）。")
        return 0
    if args.result is None:
        raise UserFacingError("请用 --result 指定结果编号。")
    give_feedback(store, args.result, rating=1 if args.action == "up" else -1 if args.action == "down" else None,
                  edited_text=args.text if args.action == "edit" else None)
    emit(args, {"result": args.result, "action": args.action}, "已记录反馈。")
    return 0

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("feedback", parents=[common], help="反馈：up/down 评价、edit 修改、export 导出训练数据")
    p.add_argument("action", choices=["up", "down", "edit", "export"])
    p.add_argument("--result", type=int, help="结果编号（history --json 中的 result_ids）")
    p.add_argument("--text", help="edit：修改后的文本")
    p.add_argument("--task", choices=[t.name for t in TASKS.values() if t.feedback_row])
    p.add_argument("--out", help="export：输出 JSONL 路径")
    p.set_defaults(func=cmd_feedback)

