"""Background jobs for the UI.

Generation never runs inside a Streamlit rerun: a page submits a job to a worker thread
and polls its state. A rerun, a click elsewhere or a closed tab does not stop the job,
and the service records the result in the history when it ends.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contentgen.errors import UserFacingError


@dataclass
class Job:
    id: str
    task: str
    owner: str
    status: str = "queued"  # queued, running, done, error
    texts: list[str] = field(default_factory=list)
    result: Any = None
    request_id: int | None = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def active(self) -> bool:
        return self.status in {"queued", "running"}


class JobRegistry:
    """Jobs of all sessions; one shared per server process (st.cache_resource)."""

    def __init__(self, keep: int = 200) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, task: str, owner: str, work: Callable[[Job], None]) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], task=task, owner=owner)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=self._run, args=(job, work), daemon=True, name=f"job-{job.id}").start()
        return job

    def get(self, job_id: str | None) -> Job | None:
        return self._jobs.get(job_id) if job_id else None

    def _run(self, job: Job, work: Callable[[Job], None]) -> None:
        job.status = "running"
        try:
            work(job)
            job.status = "done"
        except UserFacingError as exc:
            job.error, job.status = str(exc), "error"
        except Exception as exc:  # shown to the user; details go to the server log
            traceback.print_exc()
            job.error, job.status = f"生成失败：{exc}。请稍后重试；若反复出现，请联系管理员查看服务器日志。", "error"
        finally:
            job.finished_at = time.time()

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.active]
        for job in sorted(finished, key=lambda j: j.created_at)[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]

    def wait(self, job_id: str, timeout: float = 60.0) -> Job | None:
        """Block until the job ends (for scripts and tests)."""
        deadline = time.time() + timeout
        job = self.get(job_id)
        while job is not None and job.active and time.time() < deadline:
            time.sleep(0.05)
        return job
