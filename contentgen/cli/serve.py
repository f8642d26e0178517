"""contentgen api / ui: serving the HTTP API and the web app."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from contentgen.cli.common import settings_of
from contentgen.errors import UserFacingError


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from contentgen.api import create_app  # lazy: fastapi, for the API only

    uvicorn.run(create_app(settings_of(args)), host=args.address, port=args.port, log_level="warning")
    return 0


def streamlit_app() -> Path:
    """ui/app.py, found without importing the ui package (the core imports no screen)."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        raise UserFacingError("找不到网页界面（ui 包），请用 make install 重新安装。")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


# How the app is served to users: no developer toolbar (Deploy button, rerun menu), no usage stats,
# and no full garbage collection after every rerun: with the model loaded one takes ~0.3-1 s holding
# the GIL, and the progress fragments rerun every 0.3 s, so generation starved (a browser saw
# "生成中" forever on the tiny model; Streamlit 1.67, 2-core EPYC).
STREAMLIT_FLAGS = ("--server.headless", "true", "--browser.gatherUsageStats", "false",
                   "--client.toolbarMode", "viewer", "--server.runOnSave", "false",
                   "--runner.postScriptGC", "false")


def cmd_ui(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    if args.model:
        env["CONTENTGEN_MODEL"] = args.model
    if args.db:
        env["CONTENTGEN_DATABASE_URL"] = args.db
    alerts = settings_of(args).alerts
    if alerts.rules or alerts.digest:  # the app's alerts and digests go out while it runs
        import subprocess

        subprocess.Popen([sys.executable, "-m", "contentgen.cli", "alerts", "watch", "--parent", str(os.getpid())],  # noqa: S603
                         env=env, start_new_session=True)
    command = [sys.executable, "-m", "streamlit", "run", str(streamlit_app()),
               "--server.address", args.address, "--server.port", str(args.port), *STREAMLIT_FLAGS]
    # This process becomes the server: a SIGTERM to `contentgen ui` stops Streamlit and frees the port.
    os.execve(sys.executable, command, env)
    return 0  # not reached

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("api", parents=[common], help="启动 HTTP API（默认只监听本机）")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_api)


    p = sub.add_parser("ui", parents=[common], help="启动网页界面")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_ui)
