"""contentgen batch: a CSV/XLSX through a task, resumable."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from contentgen.cli.common import emit, flag, settings_of
from contentgen.errors import UserFacingError
from contentgen.runtime import build_service, build_store
from contentgen.tasks import batch_tasks
from contentgen.usecases import batch


def cmd_batch(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    batches = batch.batch_store(build_store(settings))
    if args.list:
        jobs = batches.jobs(limit=args.limit)
        rows = [{"job_id": j.id, "task": j.task, "status": j.status, "input": j.input_name,
                 "output": j.output_path, "created_at": j.created_at.isoformat(), **asdict(batches.progress(j.id))}
                for j in jobs]
        emit(args, rows, "\n".join(f"{r['job_id']}\t{r['task']}\t{r['status']}\t{r['done']}/{r['total']}\t{r['input']}"
                                    for r in rows) or "还没有批量任务。")
        return 0
    if args.resume:
        job = batches.job(args.resume)
        if job is None:
            raise UserFacingError(f"找不到批量任务 {args.resume}。请用 contentgen batch --list 查看任务编号。")
        job_id = job.id
        print(job_id, flush=True)
    else:
        if not args.input or not args.task:
            raise UserFacingError("请给出输入文件和任务，例如：contentgen batch 商品.xlsx --task copy --out 文案.xlsx")
        source = Path(args.input)
        if not source.is_file():
            raise UserFacingError(f"找不到文件“{source}”，请检查路径。")
        out = args.out or str(source.with_name(f"{source.stem}_结果{source.suffix if source.suffix.lower() == '.xlsx' else '.csv'}"))
        options = {name: getattr(args, name) for name in (*job_options(), "adapter")
                   if getattr(args, name, None) not in (None, "")}
        new = batch.create_job(batches, source.read_bytes(), source.name, args.task, user_name=settings.user,
                               columns=batch.parse_columns(args.columns), options=options,
                               output_path=str(Path(out).resolve()), max_rows=settings.batch.max_rows)
        job_id = new.job_id
        print(job_id, flush=True)  # first line: scripts resume with it
        for index, problem in sorted(new.problems.items()):
            print(f"第 {batch.row_number(index)} 行已跳过：{problem}", file=sys.stderr)
        print(f"共 {new.total} 行，跳过 {len(new.problems)} 行；中断后可用 contentgen batch --resume {job_id} 继续。",
              file=sys.stderr)
    owner = batches.job(job_id).user_name  # history rows belong to whoever created the job
    service = build_service(settings, source="batch", store=batches.store, user_name=owner)
    job = batch.run_job(service, batches, job_id, output_path=args.out if args.resume else None,
                        progress=not args.no_progress, chunk_size=args.chunk_size)
    summary = {"job_id": job.id, "status": job.status, "output": args.out or job.output_path,
               **asdict(batches.progress(job.id))}
    emit(args, summary, f"完成：{summary['done']} 行，跳过 {summary['skipped']} 行，失败 {summary['failed']} 行。"
                         f"结果：{summary['output']}")
    return 0


def job_options() -> list[str]:
    """Options a batch job may set once for all rows, over every batch task (checked per task)."""
    return list(dict.fromkeys(f.name for t in batch_tasks() for f in t.fields if f.job_option))

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("batch", parents=[common], help="批量处理 CSV/XLSX（可中断，--resume 继续）")
    p.add_argument("input", nargs="?", help="输入文件：.csv（UTF-8/GBK）或 .xlsx")
    p.add_argument("--task", choices=[t.name for t in batch_tasks()])
    p.add_argument("--out", help="输出文件 .csv 或 .xlsx（默认：输入文件名_结果）")
    p.add_argument("--columns", help="列映射，如 product=商品名,points=卖点,attributes=属性（默认按常见列名识别）")
    option_help: dict[str, list[str]] = {}
    for task in batch_tasks():
        for field in task.fields:
            if field.job_option:
                option_help.setdefault(field.name, []).append(f"{task.title}：{field.help or field.label}")
    for name, helps in option_help.items():  # one value for the whole job (a column of the table wins)
        p.add_argument(flag(name), dest=name, help="；".join(helps) + "（表格中没有该列时使用）")
    p.add_argument("--resume", metavar="JOB_ID", help="继续一个中断的任务")
    p.add_argument("--list", action="store_true", help="列出最近的批量任务")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--chunk-size", type=int, help="每次送入模型的行数（默认取引擎批大小）")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条（后台进程）")
    p.set_defaults(func=cmd_batch)

