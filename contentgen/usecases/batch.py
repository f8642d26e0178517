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

from contentgen import processes
from contentgen.errors import UserFacingError
from contentgen.inputs import check_xlsx_size, read_table, refuse_unstorable_text
from contentgen.processes import process_alive
from contentgen.tasks import Task, batch_tasks, get_task
from contentgen.tasks.base import MAX_FIELD_CHARS
from db.batches import BatchItemRef, BatchStore
from db.database import Database
from db.export import csv_bytes, safe_frame, xlsx_bytes
from db.models import BatchJob, aware, utcnow

STATUS_COLUMNS = ("处理状态", "历史记录编号")
MAX_CELL_CHARS = MAX_FIELD_CHARS
# Options a job may carry that are not task fields.
JOB_SETTINGS = ("adapter",)


def batch_store(store: Database) -> BatchStore:
    """The batch jobs and rows of a history database."""
    return BatchStore(store)


def batch_task(name: str) -> Task:
    task = get_task(name)
    if task.batch_output is None:
        raise UserFacingError(f"批量任务只能是：{'、'.join(t.name for t in batch_tasks())}。")
    return task


def column_fields(task: Task) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Task field -> (meaning shown to users, column names recognised without --columns)."""
    return {f.name: (f.label, f.columns) for f in task.fields if f.columns}


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
    spec = batch_task(task)
    known = column_fields(spec)
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
    if not any(f in mapping for f in spec.required_any):
        wanted = "或".join(f"“{known[f][0]}”" for f in spec.required_any)
        raise UserFacingError(
            f"找不到{wanted}所在的列（现有列：{'、'.join(map(str, columns))}）。"
            f"请用 --columns 指定，例如 {spec.required_any[0]}=列名。"
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
    """The task request for one row; raises UserFacingError saying what is wrong with it.
    A job option (平台, 篇幅, 品牌…) fills a field the row leaves empty."""
    spec = get_task(task)
    typed = {f: _text(values.get(column), column) for f, column in mapping.items()}
    for field in spec.fields:
        if field.job_option and not typed.get(field.name) and options.get(field.name) not in (None, ""):
            typed[field.name] = options[field.name]
    request = spec.request_from_text(typed)
    request.validate()
    refuse_unstorable_text(request, "这一行")
    return request


def check_options(task: Task, options: dict[str, Any]) -> dict[str, Any]:
    """Job options, each checked like the field it fills (a Chinese error for a bad one)."""
    names = {f.name for f in task.fields if f.job_option}
    checked = {}
    for name, value in options.items():
        if value in (None, ""):
            continue
        if name in names:
            task.field(name).parse_text(value)
        elif name not in JOB_SETTINGS:
            raise UserFacingError(f"任务“{task.title}”没有选项“{name}”，可用：{'、'.join(sorted(names))}。")
        checked[name] = value
    return checked


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
               output_path: str = "", max_rows: int = 100_000) -> NewJob:
    """Read the upload, check every row and store the job with all rows (bad ones as skipped)."""
    import pandas as pd

    filename = _CONTROL.sub("", filename)[:200] or "upload.csv"
    if Path(filename).suffix.lower() in {".xlsx", ".xlsm"}:
        check_xlsx_size(data, filename)
        try:
            frame = pd.read_excel(io.BytesIO(data), dtype=object)
        except Exception as exc:
            raise UserFacingError(f"文件“{filename}”无法读取（{exc}）。请确认是有效的 Excel 文件。") from exc
    else:
        frame = read_table(data, filename)
    if frame.empty:
        raise UserFacingError(f"文件“{filename}”没有数据行。")
    if len(frame) > max_rows:
        raise UserFacingError(f"文件有 {len(frame)} 行，超过每个批量任务 {max_rows} 行的上限。请拆分成几个文件分别上传"
                              "（管理员可在配置中调整 batch.max_rows）。")
    header = [str(c) for c in frame.columns]
    frame.columns = header
    mapping = resolve_mapping(task, header, columns)
    options = check_options(batch_task(task), dict(options or {}))
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
        for column in get_task(job.task).result_columns:
            record[column] = _clean(output.get(column, ""))
        status = {"done": "完成", "pending": "待处理", "skipped": f"已跳过：{item.error}",
                  "failed": f"失败：{item.error}"}[item.status]
        record[STATUS_COLUMNS[0]] = status
        record[STATUS_COLUMNS[1]] = item.request_id or ""
        records.append(record)
    columns = [*job.columns, *get_task(job.task).result_columns, *STATUS_COLUMNS]
    return pd.DataFrame.from_records(records, columns=columns)


def write_output(batches: BatchStore, job: BatchJob, path: str | Path) -> Path:
    """CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX by suffix; replaced atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = safe_frame(output_frame(batches, job))
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        frame.to_excel(partial, index=False, engine="openpyxl")
    else:
        frame.to_csv(partial, index=False, encoding="utf-8-sig")
    os.replace(partial, path)
    return path


def output_bytes(batches: BatchStore, job: BatchJob, kind: str = "csv") -> bytes:
    frame = output_frame(batches, job)
    return xlsx_bytes(frame) if kind == "xlsx" else csv_bytes(frame)


# ------------------------------------------------------------------ running

def run_job(service, batches: BatchStore, job_id: str, *, chunk_size: int | None = None,
            output_path: str | Path | None = None, progress: bool = True,
            on_chunk: Callable[[], None] | None = None, claimed: bool = False) -> BatchJob:
    """Process the job's pending rows (shortest first, in engine-sized chunks) until none are left.

    Safe to call again after any interruption: finished rows are never redone. One process
    holds a job at a time: `claimed` (a worker started by `BatchJobs.start`, which claimed the
    job before starting it), or this call claims it now, atomically.
    """
    from tqdm import tqdm

    job = batches.job(job_id)
    if job is None:
        raise UserFacingError(f"找不到批量任务 {job_id}。请用 contentgen batch --list 查看任务编号。")
    if not claimed and not (job.worker_pid == os.getpid() and job.status in LIVE):
        if worker_alive(job) or not batches.claim(job, "running", pid=os.getpid()):
            raise UserFacingError(f"批量任务 {job_id} 正由另一个进程处理，无需重复启动。")
    output_path = output_path or job.output_path
    options = job.options or {}
    chunk_size = chunk_size or max(getattr(service.engine, "batch_size", 8), 1)
    pending = batches.items(job_id, status="pending")
    # Similar lengths together: less padding inside each engine batch.
    pending.sort(key=lambda item: sum(len(str(v)) for v in item.values.values() if v is not None))
    batches.set_status(job_id, "running")  # with this process's pid
    counts = batches.progress(job_id)
    bar = tqdm(total=counts.total, initial=counts.finished, unit="行", desc=f"批量 {job_id}",
               disable=not progress, dynamic_ncols=True)
    spec = get_task(job.task)
    try:
        for start in range(0, len(pending), chunk_size):
            chunk = pending[start:start + chunk_size]
            requests = [build_request(job.task, item.values, job.mapping, options) for item in chunk]

            def item_for(index: int, result: Any, chunk: list = chunk) -> BatchItemRef:
                return BatchItemRef(job_id, chunk[index].row_index, spec.batch_output(result))

            service.run_many(job.task, requests, adapter=options.get("adapter", "auto"), item_for=item_for)
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


class BatchJobs:
    """Batch jobs as the faces use them: create from an upload, start or resume in a worker
    process, status, download. The upload is kept under a generated name in the job's folder
    (the user's file name is data only), with the worker's log beside it."""

    def __init__(self, settings, store) -> None:  # noqa: ANN001 - config.Settings, db.history.Database
        self.settings = settings
        self.batches = BatchStore(store)
        self.uploads = Path(settings.model.cache_dir) / "batch-uploads"

    def folder(self, job_id: str) -> Path:
        return self.uploads / job_id

    def create(self, data: bytes, filename: str, task: str, *, user_name: str,
               columns: dict[str, str] | None = None, options: dict[str, Any] | None = None,
               output_kind: str | None = None, output_path: str = "") -> NewJob:
        """Check and store the job; keep the upload; results go to `output_path` or, with
        `output_kind` (csv/xlsx), to a file in the job's folder."""
        name = Path(filename or "upload.csv").name
        created = create_job(self.batches, data, name, task, user_name=user_name, columns=columns,
                             options=options, output_path=output_path, max_rows=self.settings.batch.max_rows)
        folder = self.folder(created.job_id)
        folder.mkdir(parents=True, exist_ok=True)
        suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in {".csv", ".xlsx", ".xlsm"} else ".csv"
        (folder / f"upload{suffix}").write_bytes(data)
        if not output_path and output_kind:
            self.batches.set_output_path(created.job_id, str(folder / f"result.{output_kind}"))
        return created

    def live_workers(self) -> list[BatchJob]:
        return [j for j in self.batches.with_status(*LIVE) if worker_alive(j)]

    def has_room(self, user_name: str, *, besides: str | None = None) -> bool:
        """Whether one more worker fits the machine's and the user's caps (`besides`: a job
        whose worker is about to take the new one over)."""
        live = [j for j in self.live_workers() if j.id != besides]
        caps = self.settings.batch
        return len(live) < caps.max_workers and sum(j.user_name == user_name for j in live) < caps.per_user

    def start(self, job_id: str) -> str:
        """Run the job in a worker process of its own (it survives Streamlit reruns and closed tabs).

        The job is claimed before the process starts, so however often this is called, one worker
        runs it. Past the caps (settings.batch) it waits as 排队中 and the next free worker takes it.
        Returns the job's state afterwards: starting, queued, or the state it was already in.
        """

        job = self.batches.job(job_id)
        if job is None or worker_alive(job) or job.status == "done":
            return job.status if job else "missing"
        if not self.has_room(job.user_name):
            if job.status != "queued":
                self.batches.claim(job, "queued")
            return "queued"
        if not self.batches.claim(job, "starting"):
            return self.batches.job(job_id).status  # another caller claimed it first
        folder = self.folder(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        process = processes.start_worker(self.settings, {"kind": "batch", "job_id": job_id, "claimed": True},
                               log_path=folder / "worker.log")
        self.batches.set_worker(job_id, process.pid)
        return "starting"

    def resume(self, job_id: str) -> str:
        """Start (or queue) a worker unless one holds the job or nothing is left."""
        if not self.batches.progress(job_id).pending:
            return self.batches.job(job_id).status
        return self.start(job_id)

    def claim_next(self, pid: int, *, finishing: str) -> str | None:
        """For a worker done with `finishing`: the oldest queued job it may take over (caps kept), claimed."""
        for job in self.batches.with_status("queued"):
            if self.has_room(job.user_name, besides=finishing) and self.batches.claim(job, "running", pid=pid):
                return job.id
        return None

    def job(self, job_id: str, *, user_name: str | None = None) -> BatchJob | None:
        """The job, if it exists and (with `user_name`) belongs to that user."""
        job = self.batches.job(job_id)
        if job is None or (user_name is not None and job.user_name != user_name):
            return None
        return job

    def jobs(self, user_name: str | None = None, limit: int = 20) -> list[BatchJob]:
        return self.batches.jobs(user_name=user_name, limit=limit)

    def status(self, job: BatchJob) -> dict[str, Any]:
        from dataclasses import asdict

        progress = self.batches.progress(job.id)
        return {"job_id": job.id, "task": job.task, "task_title": get_task(job.task).title, "status": job.status,
                "input": job.input_name, "output": job.output_path, "running": worker_alive(job),
                "created_at": job.created_at.isoformat(), **asdict(progress)}

    def problems(self, job_id: str, limit: int = 200) -> list[dict[str, Any]]:
        items = self.batches.items(job_id, status=("skipped", "failed"), limit=limit)
        return [{"row": row_number(i.row_index), "reason": i.error} for i in items]

    def download(self, job: BatchJob, kind: str = "csv") -> bytes:
        return output_bytes(self.batches, job, kind)


# A running job whose worker has not reported for this long is considered interrupted.
STALE_AFTER = timedelta(minutes=3)
# States in which a worker may hold a job: claimed and starting (loading the model), or running.
LIVE = ("starting", "running")


def worker_alive(job: BatchJob) -> bool:
    """A live worker holds the job (same machine: its process exists and reported lately;
    a job claimed a moment ago whose worker has not been started yet counts too)."""
    if job.status not in LIVE:
        return False
    fresh = job.heartbeat_at is not None and utcnow() - aware(job.heartbeat_at) < STALE_AFTER
    if job.worker_pid is None:
        return fresh and job.status == "starting"
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
