"""Batch jobs: a CSV/XLSX of products, messages or reviews in, the same table with results out.

Every row is stored in the history DB when the job is created; each row is marked done in
the same transaction as its history record, so a worker killed at any point (even kill -9)
resumes with `contentgen batch --resume JOB_ID` and finishes every row exactly once.
"""

from __future__ import annotations

import io
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from contentgen.errors import UserFacingError
from contentgen.inputs import read_table, split_points
from contentgen.templates import DEFAULT_PLATFORM, LENGTHS, MAX_FIELD_CHARS, PLATFORMS, CopyRequest, ReplyRequest
from contentgen.processes import process_alive
from db.batches import BatchStore, aware
from db.export import safe_frame
from db.history import BatchItemRef
from db.models import BatchJob, utcnow

TASKS = ("copy", "reply", "sentiment")

# Task field -> (meaning shown to users, column names recognised without --columns).
FIELDS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "copy": {
        "product": ("商品名称", ("商品名称", "商品名", "商品", "产品名称", "产品", "名称", "product", "name", "title")),
        "points": ("卖点", ("卖点", "商品卖点", "亮点", "points", "selling_points", "features")),
        "attributes": ("商品属性", ("商品属性", "属性", "参数", "attributes", "content")),
        "platform": ("平台", ("平台", "渠道", "platform")),
        "length": ("篇幅", ("篇幅", "length")),
        "tone": ("语气", ("语气", "tone")),
    },
    "reply": {
        "message": ("顾客消息", ("顾客消息", "消息", "问题", "咨询", "message", "question", "text")),
        "order": ("订单信息", ("订单信息", "订单", "order")),
    },
    "sentiment": {
        "text": ("文本", ("评论", "评价", "内容", "文本", "review", "text", "comment")),
        "channel": ("来源", ("来源", "渠道", "channel", "source")),
    },
}
# At least one of these must be mapped (copy needs any of the three).
REQUIRED: dict[str, tuple[str, ...]] = {"copy": ("product", "points", "attributes"),
                                        "reply": ("message",), "sentiment": ("text",)}
RESULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "copy": ("文案", "广告法提示"),
    "reply": ("回复", "参考知识库"),
    "sentiment": ("情感", "置信度", "方面"),
}
STATUS_COLUMNS = ("处理状态", "历史记录编号")
LABEL_NAMES = {"positive": "正面", "neutral": "中性", "negative": "负面"}
MAX_CELL_CHARS = MAX_FIELD_CHARS


def parse_columns(spec: str | None) -> dict[str, str]:
    """`product=商品名,points=卖点` -> {"product": "商品名", "points": "卖点"}."""
    mapping: dict[str, str] = {}
    for part in (spec or "").replace("，", ",").split(","):
        if not part.strip():
            continue
        field, sep, column = part.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise UserFacingError(f"列映射“{part}”格式不对，应为 字段=列名，例如 product=商品名,points=卖点。")
        mapping[field.strip()] = column.strip()
    return mapping


def resolve_mapping(task: str, columns: Sequence[str], explicit: dict[str, str] | None = None) -> dict[str, str]:
    """Task field -> input column: the explicit choices, then well-known column names."""
    if task not in FIELDS:
        raise UserFacingError(f"批量任务只能是：{'、'.join(TASKS)}。")
    known = FIELDS[task]
    mapping: dict[str, str] = {}
    for field, column in (explicit or {}).items():
        if field not in known:
            raise UserFacingError(f"任务 {task} 没有字段“{field}”，可用：{'、'.join(known)}。")
        if column not in columns:
            raise UserFacingError(f"文件中没有“{column}”列（现有列：{'、'.join(columns)}）。")
        mapping[field] = column
    lowered = {str(c).strip().lower(): c for c in columns}
    for field, (_, aliases) in known.items():
        if field not in mapping:
            found = next((lowered[a.lower()] for a in aliases if a.lower() in lowered), None)
            if found is not None and found not in mapping.values():
                mapping[field] = found
    if not any(f in mapping for f in REQUIRED[task]):
        wanted = "或".join(f"“{known[f][0]}”" for f in REQUIRED[task])
        raise UserFacingError(
            f"找不到{wanted}所在的列（现有列：{'、'.join(map(str, columns))}）。"
            f"请用 --columns 指定，例如 {REQUIRED[task][0]}=列名。"
        )
    return mapping


def _cell(value: Any) -> Any:
    """A JSON-safe copy of a cell, keeping its type (so a date stays recognisable)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, (datetime, date)):
        return {"date": value.isoformat()}
    if isinstance(value, (str, int, float, bool)):
        return value
    return {"value": str(value)}


def _text(value: Any, column: str) -> str:
    """A cell as text for a task field; dates, booleans and other non-text cells are bad rows."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, dict):
        raise UserFacingError(f"“{column}”列应为文字，这里是 {value if not isinstance(value, dict) else next(iter(value.values()))}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > MAX_CELL_CHARS:
        raise UserFacingError(f"“{column}”列有 {len(text)} 字，超过上限 {MAX_CELL_CHARS} 字")
    return text


def build_request(task: str, values: dict[str, Any], mapping: dict[str, str], options: dict[str, Any]) -> Any:
    """The task request for one row; raises UserFacingError saying what is wrong with it."""
    field = {f: _text(values.get(column), column) for f, column in mapping.items()}
    if task == "copy":
        request = CopyRequest(
            product=field.get("product", ""), points=split_points(field.get("points", "")),
            attributes=field.get("attributes", ""),
            platform=field.get("platform") or options.get("platform", DEFAULT_PLATFORM),
            length=field.get("length") or options.get("length", "中"),
            tone=field.get("tone") or options.get("tone", "亲切温暖"),
        )
    elif task == "reply":
        request = ReplyRequest(message=field.get("message", ""), order=field.get("order", ""))
    else:
        from contentgen.templates import TagRequest

        request = TagRequest(text=field.get("text", ""))
    request.validate()
    return request


def row_number(row_index: int) -> int:
    """The spreadsheet row a data row is on (the header is row 1)."""
    return row_index + 2


@dataclass(frozen=True)
class NewJob:
    job_id: str
    total: int
    problems: dict[int, str]


def create_job(batches: BatchStore, data: bytes, filename: str, task: str, *, user_name: str,
               columns: dict[str, str] | None = None, options: dict[str, Any] | None = None,
               output_path: str = "") -> NewJob:
    """Read the upload, check every row and store the job with all rows (bad ones as skipped)."""
    import pandas as pd

    if Path(filename).suffix.lower() in {".xlsx", ".xlsm"}:
        try:
            frame = pd.read_excel(io.BytesIO(data), dtype=object)
        except Exception as exc:
            raise UserFacingError(f"文件“{filename}”无法读取（{exc}）。请确认是有效的 Excel 文件。") from exc
    else:
        frame = read_table(data, filename)
    if frame.empty:
        raise UserFacingError(f"文件“{filename}”没有数据行。")
    header = [str(c) for c in frame.columns]
    frame.columns = header
    mapping = resolve_mapping(task, header, columns)
    options = dict(options or {})
    if options.get("platform") and options["platform"] not in PLATFORMS:
        raise UserFacingError(f"不支持的平台“{options['platform']}”，可选：{'、'.join(PLATFORMS)}。")
    if options.get("length") and options["length"] not in LENGTHS:
        raise UserFacingError(f"篇幅只能是：{'、'.join(LENGTHS)}。")
    rows = [{column: _cell(value) for column, value in zip(header, record)}
            for record in frame.itertuples(index=False, name=None)]
    problems: dict[int, str] = {}
    for index, values in enumerate(rows):
        try:
            build_request(task, values, mapping, options)
        except UserFacingError as exc:
            problems[index] = str(exc)
    job_id = batches.create(task=task, input_name=filename, columns=header, mapping=mapping, rows=rows,
                            problems=problems, user_name=user_name, output_path=output_path, options=options)
    return NewJob(job_id, len(rows), problems)


# ------------------------------------------------------------------ output

def _display(value: Any) -> Any:
    if isinstance(value, dict):
        return next(iter(value.values()))
    return value


# Control characters (a model can emit them) are illegal in XLSX and confuse CSV readers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(value: Any) -> Any:
    return _CONTROL.sub("", value) if isinstance(value, str) else value


def output_frame(batches: BatchStore, job: BatchJob):  # noqa: ANN201
    """Every input column in input order, then the result and status columns."""
    import pandas as pd

    records = []
    for item in batches.items(job.id):
        record = {column: _display(item.values.get(column)) for column in job.columns}
        output = item.output or {}
        for column in RESULT_COLUMNS[job.task]:
            record[column] = _clean(output.get(column, ""))
        status = {"done": "完成", "pending": "待处理", "skipped": f"已跳过：{item.error}",
                  "failed": f"失败：{item.error}"}[item.status]
        record[STATUS_COLUMNS[0]] = status
        record[STATUS_COLUMNS[1]] = item.request_id or ""
        records.append(record)
    columns = [*job.columns, *RESULT_COLUMNS[job.task], *STATUS_COLUMNS]
    return safe_frame(pd.DataFrame.from_records(records, columns=columns))


def write_output(batches: BatchStore, job: BatchJob, path: str | Path) -> Path:
    """CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX by suffix; replaced atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = output_frame(batches, job)
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        frame.to_excel(partial, index=False, engine="openpyxl")
    else:
        frame.to_csv(partial, index=False, encoding="utf-8-sig")
    os.replace(partial, path)
    return path


def output_bytes(batches: BatchStore, job: BatchJob, kind: str = "csv") -> bytes:
    frame = output_frame(batches, job)
    buffer = io.BytesIO()
    if kind == "xlsx":
        frame.to_excel(buffer, index=False, engine="openpyxl")
        return buffer.getvalue()
    return frame.to_csv(index=False).encode("utf-8-sig")


# ------------------------------------------------------------------ running

def _copy_output(checker, text: str) -> dict[str, Any]:  # noqa: ANN001
    findings = checker.check(text)
    notes = "；".join(f"“{f.text}”{f.category}，建议：{f.suggestion}" for f in findings)
    return {"文案": text, "广告法提示": notes}


def _tag_output(result) -> dict[str, Any]:  # noqa: ANN001
    aspects = "；".join(f"{a['aspect']}:{LABEL_NAMES[a['label']]}" for a in result.aspects)
    return {"情感": LABEL_NAMES[result.label], "置信度": round(result.confidence, 4), "方面": aspects}


def run_job(service, batches: BatchStore, job_id: str, *, chunk_size: int | None = None,
            output_path: str | Path | None = None, progress: bool = True,
            on_chunk: Callable[[], None] | None = None) -> BatchJob:
    """Process the job's pending rows (shortest first, in engine-sized chunks) until none are left.

    Safe to call again after any interruption: finished rows are never redone.
    """
    from tqdm import tqdm

    job = batches.job(job_id)
    if job is None:
        raise UserFacingError(f"找不到批量任务 {job_id}。请用 contentgen batch --list 查看任务编号。")
    if job.worker_pid != os.getpid() and worker_alive(job):
        raise UserFacingError(f"批量任务 {job_id} 正由另一个进程（PID {job.worker_pid}）处理，无需重复启动。")
    output_path = output_path or job.output_path
    options = job.options or {}
    chunk_size = chunk_size or max(getattr(service.engine, "batch_size", 8), 1)
    pending = batches.items(job_id, status="pending")
    # Similar lengths together: less padding inside each engine batch.
    pending.sort(key=lambda item: sum(len(str(v)) for v in item.values.values() if v is not None))
    batches.set_status(job_id, "running")
    counts = batches.progress(job_id)
    bar = tqdm(total=counts.total, initial=counts.finished, unit="行", desc=f"批量 {job_id}",
               disable=not progress, dynamic_ncols=True)
    brand = options.get("brand") or None
    checker = service.checker_for(brand) if job.task == "copy" else None
    try:
        for start in range(0, len(pending), chunk_size):
            chunk = pending[start:start + chunk_size]
            requests = []
            for item in chunk:
                request = build_request(job.task, item.values, job.mapping, options)
                if job.task == "copy" and brand:
                    request, _ = service.apply_brand(request, brand)
                requests.append(request)
            adapter = options.get("adapter", "auto")
            if job.task == "sentiment":
                channel_column = job.mapping.get("channel")
                texts = [r.text for r in requests]
                channels = {str(item.values.get(channel_column) or "") for item in chunk} if channel_column else {""}
                # One call per channel so each history row keeps its source.
                for channel in sorted(channels):
                    members = [i for i, item in enumerate(chunk)
                               if not channel_column or str(item.values.get(channel_column) or "") == channel]
                    service.tag([texts[i] for i in members], adapter=adapter,
                                channel=channel or options.get("channel", ""),
                                item_for=lambda index, result, m=members: BatchItemRef(
                                    job_id, chunk[m[index]].row_index, _tag_output(result)))
            else:
                def item_for(index: int, text: str, prepared) -> BatchItemRef:  # noqa: ANN001
                    output = (_copy_output(checker, text) if job.task == "copy" else
                              {"回复": text, "参考知识库": "；".join(
                                  f"#{s['id']} {s['question']}" for s in prepared.faq)})
                    return BatchItemRef(job_id, chunk[index].row_index, output)

                service.generate_many(job.task, requests, adapter=adapter, item_for=item_for)
            bar.update(len(chunk))
            batches.heartbeat(job_id)
            if output_path:
                write_output(batches, job, output_path)
            if on_chunk:
                on_chunk()
    except BaseException as exc:
        batches.set_status(job_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    finally:
        bar.close()
    batches.set_status(job_id, "done")
    if output_path:
        write_output(batches, job, output_path)
    return batches.job(job_id)


def start_worker(job_id: str, *, model: str, db_url: str, log_path: Path | None = None):  # noqa: ANN201
    """Run the job in its own process (it survives Streamlit reruns and closed browser tabs)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "contentgen.cli", "batch", "--resume", job_id, "--no-progress",
               "--model", model, "--db", db_url]
    if log_path is None:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


# A running job whose worker has not reported for this long is considered interrupted.
STALE_AFTER = timedelta(minutes=3)


def worker_alive(job: BatchJob) -> bool:
    """A live worker holds the job (same machine: its process exists and reported lately)."""
    if job.status != "running":
        return False
    fresh = job.heartbeat_at is not None and utcnow() - aware(job.heartbeat_at) < STALE_AFTER
    return fresh and process_alive(job.worker_pid)


def describe_eta(seconds: float | None) -> str:
    if seconds is None:
        return "估算中"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分" if hours else (f"{minutes} 分 {secs} 秒" if minutes else f"{secs} 秒")


def wait_for(batches: BatchStore, job_id: str, timeout: float = 60.0) -> BatchJob:
    """Poll until the job is done or failed (tests, scripts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = batches.job(job_id)
        if job and job.status in {"done", "failed"}:
            return job
        time.sleep(0.2)
    raise TimeoutError(job_id)
