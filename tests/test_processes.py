"""Server processes stop with their command: `contentgen ui` and `contentgen api` on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, wait_until_up


def port_open(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        return True
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("command, ready", [("ui", "/_stcore/health"), ("api", "/openapi.json")])
def test_sigterm_stops_the_server_and_frees_its_port(app_env, tmp_path, command, ready):
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "contentgen.cli", command, "--port", str(port)],
                                   stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))
    wait_until_up(f"http://127.0.0.1:{port}{ready}", process, lambda: Path(log).read_text(errors="replace"))
    if command == "ui":  # the command became the Streamlit server, served without the developer toolbar
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert b"streamlit" in b" ".join(cmdline) and cmdline[cmdline.index(b"--client.toolbarMode") + 1] == b"viewer"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while port_open(port):
        assert time.monotonic() < deadline, "the server kept the port after SIGTERM"
        time.sleep(0.2)


def test_sigterm_interrupts_a_batch_worker_and_the_job_resumes(app_env, tmp_path):
    """A service manager stopping a worker leaves the job interrupted, never half-claimed."""
    from contentgen.usecases.batch import BatchJobs
    from contentgen.config import load_settings
    from db.database import Database

    store = Database(app_env)
    jobs = BatchJobs(load_settings(), store)
    rows = "商品名\n" + "".join(f"测试商品{i}\n" for i in range(200))
    job = jobs.create(rows.encode(), "p.csv", "copy", user_name="u", options={"length": "短"})
    assert jobs.start(job.job_id) == "starting"
    deadline = time.monotonic() + 120
    while jobs.batches.progress(job.job_id).done < 2:
        assert time.monotonic() < deadline, Path(jobs.folder(job.job_id) / "worker.log").read_text(errors="replace")
        time.sleep(0.2)
    pid = jobs.batches.job(job.job_id).worker_pid
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while jobs.batches.job(job.job_id).status == "running":
        assert time.monotonic() < deadline, "the worker did not stop on SIGTERM"
        time.sleep(0.2)
    stopped = jobs.batches.job(job.job_id)
    assert stopped.status == "failed" and jobs.batches.progress(job.job_id).pending > 0
    assert jobs.resume(job.job_id) == "starting"  # resumable at once, one worker again
    os.kill(jobs.batches.job(job.job_id).worker_pid, signal.SIGKILL)  # not left running after the test
