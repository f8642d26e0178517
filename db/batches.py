"""Persistence of batch jobs: the uploaded rows, their progress and results."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import BatchItem, BatchJob, aware, utcnow

# Rows per transaction when a job is stored: short write locks whatever the upload's size.
INSERT_CHUNK = 2000


class ItemAlreadyDone(Exception):
    """A batch row was finished by another worker; its duplicate was not written."""


@dataclass(frozen=True)
class BatchItemRef:
    """The batch row a result completes, with the row's result columns."""

    job_id: str
    row_index: int
    output: dict[str, Any]

    def mark_done(self, session: Session, request_id: int) -> None:
        """Inside the history row's transaction: the row is done with it, or nothing is written."""
        claimed = session.execute(
            update(BatchItem)
            .where(BatchItem.job_id == self.job_id, BatchItem.row_index == self.row_index,
                   BatchItem.status == "pending")
            .values(status="done", output=self.output, request_id=request_id, completed_at=utcnow()))
        if claimed.rowcount != 1:
            raise ItemAlreadyDone(self.job_id, self.row_index)  # rolls back


@dataclass(frozen=True)
class JobProgress:
    total: int
    done: int
    skipped: int
    failed: int
    pending: int
    # Rows per second over the recent window, and the estimated seconds left.
    rate: float | None
    eta_s: float | None

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed


class BatchStore:
    def __init__(self, database) -> None:  # noqa: ANN001 - db.database.Database (which holds this store)
        self.store = database
        self.sessions = database.sessions

    def create(self, *, task: str, input_name: str, columns: Sequence[str], mapping: dict[str, str],
               rows: Sequence[dict[str, Any]], problems: dict[int, str], user_name: str,
               output_path: str = "", options: dict[str, Any] | None = None) -> str:
        """Store the job and every row (bad rows as skipped with the reason). Rows go in bounded
        transactions, so a large upload never holds the database's write lock for long; the job
        is `creating` (no worker takes it) until its last row is in."""
        job_id = uuid.uuid4().hex[:12]
        with self.sessions.begin() as session:
            session.add(BatchJob(id=job_id, task=task, input_name=input_name, columns=list(columns),
                                 mapping=dict(mapping), options=dict(options or {}), user_name=user_name,
                                 output_path=output_path, total=len(rows), status="creating"))
        for start in range(0, len(rows), INSERT_CHUNK):
            with self.sessions.begin() as session:
                session.add_all(
                    BatchItem(job_id=job_id, row_index=i, values=row,
                              status="skipped" if i in problems else "pending", error=problems.get(i))
                    for i, row in enumerate(rows[start:start + INSERT_CHUNK], start=start)
                )
        with self.sessions.begin() as session:
            session.execute(update(BatchJob).where(BatchJob.id == job_id).values(status="pending"))
        return job_id

    def job(self, job_id: str) -> BatchJob | None:
        with self.sessions() as session:
            return session.get(BatchJob, job_id)

    def jobs(self, user_name: str | None = None, limit: int = 20) -> list[BatchJob]:
        statement = select(BatchJob).order_by(BatchJob.created_at.desc()).limit(limit)
        if user_name:
            statement = statement.where(BatchJob.user_name == user_name)
        with self.sessions() as session:
            return list(session.scalars(statement).all())

    def items(self, job_id: str, status: str | tuple[str, ...] | None = None,
              limit: int | None = None) -> list[BatchItem]:
        statement = select(BatchItem).where(BatchItem.job_id == job_id).order_by(BatchItem.row_index)
        if status:
            statement = statement.where(BatchItem.status.in_((status,) if isinstance(status, str) else status))
        if limit:
            statement = statement.limit(limit)
        with self.sessions() as session:
            return list(session.scalars(statement).all())

    def progress(self, job_id: str, window: timedelta = timedelta(minutes=5)) -> JobProgress:
        with self.sessions() as session:
            counts = Counter(dict(session.execute(
                select(BatchItem.status, func.count()).where(BatchItem.job_id == job_id)
                .group_by(BatchItem.status)).all()))
            since = utcnow() - window
            recent = session.execute(
                select(func.count(), func.min(BatchItem.completed_at)).where(
                    BatchItem.job_id == job_id, BatchItem.status == "done", BatchItem.completed_at >= since)
            ).one()
        total = sum(counts.values())
        rate = eta = None
        if recent[0] >= 2:
            elapsed = (utcnow() - aware(recent[1])).total_seconds()
            if elapsed > 0:
                rate = recent[0] / elapsed
                eta = counts["pending"] / rate
        return JobProgress(total, counts["done"], counts["skipped"], counts["failed"], counts["pending"],
                           rate, eta)

    def set_status(self, job_id: str, status: str, *, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "error": error, "heartbeat_at": utcnow()}
        if status == "running":
            values["worker_pid"] = os.getpid()
        if status in {"done", "failed"}:
            values["finished_at"] = utcnow()
        with self.sessions.begin() as session:
            session.execute(update(BatchJob).where(BatchJob.id == job_id).values(**values))

    def claim(self, seen: BatchJob, status: str, *, pid: int | None = None) -> bool:
        """Move the job to `status` only if nobody changed it since it was read as `seen`
        (compare-and-set on status and heartbeat): of several claimers, exactly one wins."""
        condition = [BatchJob.id == seen.id, BatchJob.status == seen.status]
        condition.append(BatchJob.heartbeat_at.is_(None) if seen.heartbeat_at is None
                         else BatchJob.heartbeat_at == seen.heartbeat_at)
        with self.sessions.begin() as session:
            claimed = session.execute(update(BatchJob).where(*condition).values(
                status=status, heartbeat_at=utcnow(), worker_pid=pid, error=None))
            return claimed.rowcount == 1

    def set_worker(self, job_id: str, pid: int) -> None:
        with self.sessions.begin() as session:
            session.execute(update(BatchJob).where(BatchJob.id == job_id).values(worker_pid=pid))

    def with_status(self, *statuses: str) -> list[BatchJob]:
        """Jobs in these states, oldest first (the queue, the workers that may be alive)."""
        statement = select(BatchJob).where(BatchJob.status.in_(statuses)).order_by(BatchJob.created_at)
        with self.sessions() as session:
            return list(session.scalars(statement).all())

    def set_output_path(self, job_id: str, path: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(BatchJob).where(BatchJob.id == job_id).values(output_path=path))

    def heartbeat(self, job_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(BatchJob).where(BatchJob.id == job_id).values(heartbeat_at=utcnow()))

    def fail_item(self, job_id: str, row_index: int, error: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(BatchItem).where(
                BatchItem.job_id == job_id, BatchItem.row_index == row_index, BatchItem.status == "pending",
            ).values(status="failed", error=error, completed_at=utcnow()))
