"""Is a worker process (training run, batch job) still alive?"""

from __future__ import annotations

import os
from pathlib import Path


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
