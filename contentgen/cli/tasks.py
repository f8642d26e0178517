"""One command per task of the registry (copy, reply, tag, title…): its options are the task's fields."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from contentgen.cli.common import emit, flag, service_of
from contentgen.errors import UserFacingError
from contentgen.inputs import read_context_file, read_texts
from contentgen.tasks import Task, with_command
from contentgen.tasks.base import CHOICE, INTEGER, TURNS


def add_task_arguments(parser: argparse.ArgumentParser, task: Task) -> None:
    """One option per input field of the task."""
    for field in task.fields:
        if field.kind == TURNS:
            parser.add_argument(flag(field.name) + "-file", dest=field.name, help=field.help or field.label)
            continue
        options: dict[str, Any] = {"dest": field.name, "help": field.help or field.label}
        if field.kind == CHOICE:
            options.update(choices=list(field.choices), default=field.default)
        elif field.kind == INTEGER:
            options.update(type=int, default=field.default)
        if field.required and task.kind != "classify":
            options["required"] = True
        parser.add_argument(flag(field.name), **options)


def request_from_args(task: Task, args: argparse.Namespace) -> Any:
    values: dict[str, Any] = {}
    for field in task.fields:
        raw = getattr(args, field.name, None)
        if field.kind == TURNS:
            values[field.name] = tuple(read_context_file(Path(raw))) if raw else ()
        else:
            values[field.name] = field.parse_text(raw if raw is None or isinstance(raw, str) else str(raw))
    return task.build_request(values)


def print_findings(task: Task, outputs: list[str], findings: list[list[dict[str, Any]]]) -> None:
    many = len(outputs) > 1
    for index, found in enumerate(findings):
        where = f"（版本 {index + 1}）" if many else ""
        for f in found:
            print(f"检查提示{where}：“{f['text']}” {f['category']}，建议：{f['suggestion']}", file=sys.stderr)
        if not found and task.check is not None:
            print(f"核对通过{where}：未发现问题。", file=sys.stderr)


def print_handoff(parts: list[dict[str, Any]]) -> None:
    if parts and parts[0].get("handoff"):
        print(f"建议转人工：{parts[0].get('handoff_reason', '')}", file=sys.stderr)


def cmd_generate(args: argparse.Namespace, task: Task) -> int:
    request = request_from_args(task, args)
    request.validate()  # fail before the model loads
    service = service_of(args)
    if args.json or not task.streams:
        result = service.generate(task.name, request, adapter=args.adapter)
        human = "\n".join(f"{i + 1}. {text}" for i, text in enumerate(result.outputs)) if len(result.outputs) > 1 \
            else (result.outputs[0] if result.outputs else "")
        emit(args, asdict(result), human)
        if not args.json:
            print(f"\n（已保存到历史记录 #{result.request_id}）", file=sys.stderr)
            print_findings(task, result.outputs, result.compliance)
            print_handoff(result.parts)
        return 0
    stream = service.stream(task.name, request, adapter=args.adapter)
    versions = task.versions(request)
    if task.candidate_count(request) > versions:
        print(f"正在生成 {task.candidate_count(request)} 个候选并逐一核对，选出最好的 {versions} 个…", file=sys.stderr)
    current = -1
    for index, piece in _ordered(stream, versions):
        if index != current:
            current = index
            print(f"\n—— 版本 {index + 1} ——" if versions > 1 else "", flush=True)
        print(piece, end="", flush=True)
    print(f"\n\n（已保存到历史记录 #{stream.request_id}）", file=sys.stderr)
    result = stream.result()
    print_findings(task, result.outputs, result.compliance)
    for source in result.sources:
        print(f"参考知识库 #{source['id']}：{source['question']}", file=sys.stderr)
    print_handoff(result.parts)
    return 0


def _ordered(stream, n: int):
    """Print version 1 live; later versions (generated in the same batch) follow in order."""
    pending: dict[int, list[str]] = {i: [] for i in range(n)}
    for index, piece in stream:
        if index == 0:
            yield 0, piece
        else:
            pending[index].append(piece)
    for index in range(1, n):
        yield index, "".join(pending[index])


def cmd_classify(args: argparse.Namespace, task: Task) -> int:
    if args.text is not None:
        texts = [args.text]
    elif args.file:
        if not Path(args.file).is_file():
            raise UserFacingError(f"找不到文件“{args.file}”，请检查路径。")
        texts = read_texts(Path(args.file), args.column, task.field("text").columns)
    else:
        raise UserFacingError("请用 --text 给出文本，或用 --file 给出文件。")
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    texts = [t for t in texts if t.strip()]
    if empty:
        print(f"跳过空文本：第 {', '.join(map(str, empty[:20]))} 行", file=sys.stderr)
    if not texts:
        raise UserFacingError("没有可分析的文本：请给出非空的 --text，或检查文件中的列。")
    others = {f.name: f.parse_text(getattr(args, f.name, None)) for f in task.fields if f.name != "text"}
    requests = [task.build_request({"text": t, **others}) for t in texts]
    service = service_of(args)
    results = service.run_many(task.name, requests, adapter=args.adapter)
    payload = [asdict(r) for r in results]
    emit(args, payload if len(payload) > 1 or args.file else payload[0],
          "\n".join(f"{task.display(r.label)}\t{r.confidence:.2f}\t{r.text[:60]}" for r in results))
    return 0


def task_command(task: Task):  # noqa: ANN201
    def run(args: argparse.Namespace) -> int:
        return cmd_classify(args, task) if task.kind == "classify" else cmd_generate(args, task)
    return run


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for task in with_command():
        p = sub.add_parser(task.command, parents=[common], help=task.summary or task.title)
        if task.kind == "classify":
            source = p.add_mutually_exclusive_group(required=True)
            source.add_argument("--text")
            source.add_argument("--file", help=".csv / .jsonl / .xlsx")
            p.add_argument("--column", help="文件中文本所在的列（默认按列名识别：评论、评价、内容、文本、text…）")
            add_task_arguments(p, replace(task, fields=tuple(f for f in task.fields if f.name != "text")))
        else:
            add_task_arguments(p, task)
        p.set_defaults(func=task_command(task))

