"""contentgen faq: the support knowledge base, entry by entry or from a file, and what it lacks."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from contentgen.cli.common import emit, store_of
from contentgen.errors import UserFacingError
from contentgen.tasks.reply.knowledge import FaqIndex, parse_faq_file
from contentgen.usecases.faq import (
    add_faq_entry,
    answer_unanswered,
    delete_faq_entry,
    edit_faq_entry,
    faq_row,
    unanswered_rows,
)


def cmd_faq(args: argparse.Namespace) -> int:
    store = store_of(args)
    if args.action == "import":
        if not args.file or not Path(args.file).is_file():
            raise UserFacingError("请用 --file 指定存在的 FAQ 文件（CSV/XLSX，含“问题”“答案”列）。")
        entries = parse_faq_file(Path(args.file).read_bytes(), Path(args.file).name)
        if args.replace:
            store.faq.clear()
        added = store.faq.add(entries)
        emit(args, {"added": added, "total": len(store.faq.list())}, f"已导入 {added} 条，知识库共 {len(store.faq.list())} 条。")
        return 0
    if args.action == "search":
        if not args.text:
            raise UserFacingError("请用 --text 提供要检索的顾客消息。")
        hits = FaqIndex(store.faq.list(enabled_only=True)).search(args.text, k=args.k)
        emit(args, [asdict(h) for h in hits],
              "\n".join(f"#{h.id} {h.score:.2f} {h.question} → {h.answer[:40]}" for h in hits) or "没有匹配的条目。")
        return 0
    if args.action in ("edit", "delete", "answer") and not args.id:
        raise UserFacingError(f"faq {args.action} 需要 --id 指定编号。")
    if args.action == "add":
        entry_id = add_faq_entry(store, args.question or "", args.answer or "", args.category or "",
                                 direct_answer=bool(args.direct_answer))
        emit(args, faq_row(store.faq.get(entry_id)), f"已新增条目 #{entry_id}。")
        return 0
    if args.action == "edit":
        edit_faq_entry(store, args.id, question=args.question, answer=args.answer, category=args.category,
                       enabled=args.enabled, direct_answer=args.direct_answer)
        emit(args, faq_row(store.faq.get(args.id)), f"已更新条目 #{args.id}。")
        return 0
    if args.action == "delete":
        delete_faq_entry(store, args.id)
        emit(args, {"id": args.id, "deleted": True}, f"已删除条目 #{args.id}。")
        return 0
    if args.action == "unanswered":
        rows = unanswered_rows(store)
        emit(args, rows, "\n".join(f"#{r['id']}\t{r['count']} 次\t{r['question']}" for r in rows) or "没有待补充的问题。")
        return 0
    if args.action == "answer":
        entry_id = answer_unanswered(store, args.id, args.answer or "", args.category or "",
                                     question=args.question or "", direct_answer=bool(args.direct_answer))
        emit(args, faq_row(store.faq.get(entry_id)), f"已补成条目 #{entry_id}。")
        return 0
    rows = [faq_row(e) for e in store.faq.list()]
    emit(args, rows, "\n".join(f"#{r['id']} {'' if r['enabled'] else '（已停用）'}{r['question']}\t命中 {r['hits']} 次"
                                 for r in rows) or "知识库为空。")
    return 0

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("faq", parents=[common], help="客服知识库：import 导入、list 列出、search 检索、add/edit/delete 单条维护、"
                                                    "unanswered 答不上的问题、answer 把答不上的问题补成条目")
    p.add_argument("action", choices=["import", "list", "search", "add", "edit", "delete", "unanswered", "answer"])
    p.add_argument("--file", help="FAQ 文件（CSV/XLSX，含“问题”“答案”列，可选“分类”）")
    p.add_argument("--replace", action="store_true", help="导入前清空现有条目")
    p.add_argument("--text", help="search：顾客消息")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--id", type=int, help="edit/delete：条目编号；answer：待补充问题的编号")
    p.add_argument("--question", help="add/edit/answer：问题")
    p.add_argument("--answer", help="add/edit/answer：答案")
    p.add_argument("--category", help="add/edit/answer：分类")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--enable", dest="enabled", action="store_true", default=None, help="edit：启用")
    switch.add_argument("--disable", dest="enabled", action="store_false", help="edit：停用（保留条目，不再检索）")
    direct = p.add_mutually_exclusive_group()
    direct.add_argument("--direct", dest="direct_answer", action="store_true", default=None,
                        help="直接回答：问到时原样返回答案，不经模型生成")
    direct.add_argument("--no-direct", dest="direct_answer", action="store_false", help="edit：取消直接回答")
    p.set_defaults(func=cmd_faq)

