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
