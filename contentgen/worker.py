"""The one worker entry point for work that outlives a request: batch jobs and training runs.

The UI, the API and the CLI start it the same way (`contentgen.processes.start_worker`). The parent's settings
and the job arrive as one JSON message on standard input, so no database URL (with its
password) appears on a command line or in the process list.

    {"settings": Settings.to_dict(), "job": {"kind": "batch", "job_id": "..."}}
    {"settings": ..., "job": {"kind": "train", "run_dir": "..."}}
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from contentgen.config import Settings
from contentgen.runtime import build_service
from contentgen.usecases.batch import BatchJobs, run_job
from contentgen.usecases.training_runs import train_run


def run_batch(settings: Settings, job_id: str, *, claimed: bool) -> None:
    """The job, then queued jobs while there are any this worker may take (the model stays loaded)."""
    import os


    service = build_service(settings, source="batch")
    jobs = BatchJobs(settings, service.store)
    while job_id is not None:
        job = jobs.batches.job(job_id)
        if job is None:
            raise SystemExit(f"找不到批量任务 {job_id}。")
        service.user_name = job.user_name  # history rows belong to whoever created the job
        run_job(service, jobs.batches, job_id, progress=False, claimed=claimed)
        job_id, claimed = jobs.claim_next(os.getpid(), finishing=job_id), True


def run_training(settings: Settings, run_dir: str) -> None:
    train_run(settings, Path(run_dir))


def _interrupt(_signum: int, _frame: object) -> None:
    # A service manager's SIGTERM ends the work like Ctrl-C: the job is marked interrupted, resumable.
    raise KeyboardInterrupt


def main() -> int:
    message = json.loads(sys.stdin.read())
    settings = Settings.from_dict(message["settings"])
    job = message["job"]
    signal.signal(signal.SIGTERM, _interrupt)
    if job["kind"] == "batch":
        run_batch(settings, job["job_id"], claimed=bool(job.get("claimed")))
    elif job["kind"] == "train":
        run_training(settings, job["run_dir"])
    else:
        raise SystemExit(f"unknown job kind {job['kind']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
