"""Reliability run on loopback: 8 users make interactive API calls while one user uploads the
largest allowed batch job and keeps resuming it, for a bounded time, on the tiny model.

Counts 5xx answers, lost and duplicated history rows (interactive and batch), the most worker
processes seen on the job at once, and the p95 latency of the interactive calls. With
`--postgres URL` the history lives on PostgreSQL, and `--restart-postgres` restarts the server
half-way (the batch must resume and nothing may be lost).

    .venv/bin/python bench/reliability.py --seconds 120 [--postgres postgresql+psycopg://... --restart-postgres]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pandas as pd
import psutil
import uvicorn
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from contentgen.usecases.accounts import AccountStore, ApiKeyStore  # noqa: E402
from contentgen.api import create_app  # noqa: E402
from contentgen.config import BatchConfig, DatabaseConfig, ModelConfig, Settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.models import BatchItem, Request  # noqa: E402
from tests.servers import free_port  # noqa: E402
from tests.tiny_model import build_tiny_model  # noqa: E402

CALLS = [
    ("/v1/copy", {"product": "保温杯", "points": ["316不锈钢"], "length": "短"}),
    ("/v1/reply", {"message": "快递三天了还没到"}),
    ("/v1/tag", {"texts": ["物流很快，包装完好", "质量太差"]}),
    ("/v1/check", {"text": "全网最好的保温杯"}),
    ("/v1/title", {"brand": "膳魔师", "product": "保温杯", "points": ["500ml"], "n": 2}),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def fresh_postgres(url: str) -> str:
    name = f"contentgen_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def workers_on(job_id: str | None) -> int:
    """Worker processes of this machine (contentgen.worker) — each holds at most one job."""
    return sum(1 for p in psutil.process_iter(["cmdline"]) if "contentgen.worker" in " ".join(p.info["cmdline"] or []))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the batch job (the default cap)")
    parser.add_argument("--postgres", help="an account allowed to create databases; default SQLite")
    parser.add_argument("--restart-postgres", action="store_true", help="service postgresql restart half-way")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="reliability-"))
    model = build_tiny_model(folder / "tiny-qwen2")
    db_url = fresh_postgres(args.postgres) if args.postgres else f"sqlite:///{folder / 'history.db'}"
    store = Database(db_url)
    keys = {}
    for index in range(args.users + 1):
        name = f"user{index}"
        AccountStore(store).add(name, "password123", "admin")
        keys[name] = ApiKeyStore(store).create(name)
    settings = Settings(model=ModelConfig(name_or_path=str(model), dtype="fp32", cache_dir=folder / "cache"),
                        database=DatabaseConfig(url=db_url), batch=BatchConfig(max_rows=args.rows))
    app = create_app(settings, rate_limit=100_000)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"

    statuses: Counter[int] = Counter()
    latencies: dict[str, list[float]] = defaultdict(list)
    answered: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    most_workers, job_id = 0, None

    def user_loop(index: int) -> None:
        rng = random.Random(index)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys[f'user{index}']}"},
                          timeout=120) as http:
            while time.monotonic() < deadline:
                path, body = rng.choice(CALLS)
                started = time.perf_counter()
                try:
                    response = http.post(path, json=body)
                except httpx.HTTPError:
                    with lock:
                        statuses[0] += 1  # connection-level failure
                    continue
                with lock:
                    statuses[response.status_code] += 1
                    latencies[path].append(time.perf_counter() - started)
                    if response.status_code == 200:
                        data = response.json()
                        for item in data if isinstance(data, list) else [data]:
                            if item.get("request_id"):
                                answered.append(item["request_id"])

    batch_user = f"user{args.users}"
    frame = pd.DataFrame({"评论": [f"第{i}条评论，物流很快，包装完好" for i in range(args.rows)]})
    upload = frame.to_csv(index=False).encode("utf-8")
    threads = [threading.Thread(target=user_loop, args=(i,)) for i in range(args.users)]
    for thread in threads:
        thread.start()
    restarted = False
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys[batch_user]}"}, timeout=300) as http:
        created = http.post("/v1/batch", data={"task": "sentiment"}, files={"file": ("评论.csv", upload, "text/csv")})
        statuses[created.status_code] += 1
        job_id = created.json().get("job_id") if created.status_code == 200 else None
        while time.monotonic() < deadline:
            if job_id:
                try:
                    statuses[http.post(f"/v1/batch/{job_id}/resume").status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1
            most_workers = max(most_workers, workers_on(job_id))
            if args.restart_postgres and not restarted and time.monotonic() > deadline - args.seconds / 2:
                subprocess.run(["service", "postgresql", "restart"], check=True, capture_output=True)
                restarted = True
            time.sleep(1.0)
    for thread in threads:
        thread.join()
    # The job goes on in its worker; stop it so the counts below are final.
    for process in psutil.process_iter(["cmdline"]):
        if "contentgen.worker" in " ".join(process.info["cmdline"] or []):
            process.terminate()
    time.sleep(3)
    server.should_exit = True

    check = Database(db_url)
    with check.sessions() as session:
        api_rows = dict(session.execute(select(Request.id, Request.source).where(Request.source == "api")).all())
        batch_rows = session.scalar(select(func.count()).select_from(Request).where(Request.source == "batch"))
        done_items = session.execute(select(BatchItem.request_id).where(BatchItem.job_id == job_id,
                                                                        BatchItem.status == "done")).scalars().all()
        unclaimed = session.scalar(select(func.count()).select_from(Request).where(
            Request.source == "batch", Request.id.not_in(select(BatchItem.request_id).where(
                BatchItem.request_id.is_not(None)))))
    report = {
        "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                    platform.processor()),
        "database": "postgresql" if args.postgres else "sqlite", "postgres_restarted": restarted,
        "users": args.users, "seconds": args.seconds, "batch_rows": args.rows,
        "status_counts": dict(sorted(statuses.items())), "server_errors_5xx": sum(c for s, c in statuses.items() if s >= 500),
        "connection_failures": statuses.get(0, 0),
        "interactive_answered": len(answered), "interactive_lost": sum(1 for i in answered if i not in api_rows),
        "interactive_duplicated": sum(c - 1 for c in Counter(answered).values() if c > 1),
        "batch_rows_done": len(done_items), "batch_history_rows": batch_rows,
        "batch_duplicated": len(done_items) - len(set(done_items)), "batch_rows_without_item": unclaimed,
        "most_workers_at_once": most_workers,
        "p95_s": {path: round(percentile(v, 0.95), 3) for path, v in sorted(latencies.items())},
        "p50_s": {path: round(percentile(v, 0.5), 3) for path, v in sorted(latencies.items())},
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
