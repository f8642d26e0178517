"""Worker processes (batch jobs, training runs): start one, and tell whether one is alive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from contentgen.config import Settings


def start_worker(settings: Settings, job: dict[str, Any], *, log_path: Path | None = None) -> subprocess.Popen:
    """Start the worker in its own session (it survives Streamlit reruns and closed tabs)."""
    log = open(log_path, "ab") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        process = subprocess.Popen([sys.executable, "-m", "contentgen.worker"], stdin=subprocess.PIPE,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log is not subprocess.DEVNULL:
            log.close()
    process.stdin.write(json.dumps({"settings": settings.to_dict(), "job": job}, ensure_ascii=False).encode())
    process.stdin.close()
    return process



def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():  # Linux: a finished child not yet reaped shows as a zombie ("Z")
        return stat.read_text().split(") ")[-1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc").is_dir() or stat.exists()
