"""The history as every face shows it: rows, search and the spreadsheet export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contentgen.tasks import TASKS
from db.database import Database
from db.export import csv_bytes, xlsx_bytes


def history_row(record) -> dict[str, Any]:  # noqa: ANN001
    """One history row for the CLI (--json), the API and the UI alike; `shown` is how each
    output reads on screen (a sentiment label in Chinese)."""

    spec = TASKS.get(record.task)
    display = spec.display if spec else str
    return {
        "id": record.id, "created_at": record.created_at.isoformat(), "user": record.user_name,
        "task": record.task, "task_title": spec.title if spec else record.task, "status": record.status,
        "model": record.model_id, "adapter": record.adapter_id, "latency_ms": record.latency_ms,
        "brand_id": record.brand_id, "channel": record.channel, "source": record.source,
        "input": record.input_text, "inputs": record.inputs, "error": record.error, "params": record.params,
        "outputs": [r.text for r in record.results],
        "shown": [display(r.text) for r in record.results],
        "result_ids": [r.id for r in record.results],
        "edits": [r.edited_text for r in record.results],
        "ratings": [r.rating for r in record.results],
        "results": [{"id": r.id, "text": r.text, "shown": display(r.text), "label": r.label, "rating": r.rating,
                     "edited_text": r.edited_text} for r in record.results],
    }




def search_history(store: Database, query: str = "", **filters: Any) -> list[dict[str, Any]]:
    """History rows as every face shows them, without loading a model (see `history_row`)."""
    return [history_row(r) for r in store.history.search(query, **filters)]


HISTORY_COLUMNS = ["记录号", "时间", "用户", "任务", "输入", "输出", "标签", "状态", "模型", "适配器", "耗时(毫秒)"]


def export_history(records: Sequence[Any], kind: str = "csv") -> bytes:
    """History rows as a spreadsheet a manager can open (CSV with BOM, or XLSX)."""
    import pandas as pd


    rows = [history_row(r) for r in records]
    frame = pd.DataFrame([[r["id"], r["created_at"][:19].replace("T", " "), r["user"], r["task_title"], r["input"],
                           "\n---\n".join(r["shown"]), ",".join(x["label"] for x in r["results"] if x["label"]),
                           r["status"], r["model"], r["adapter"] or "", round(r["latency_ms"] or 0)] for r in rows],
                         columns=HISTORY_COLUMNS)
    return xlsx_bytes(frame, "历史记录") if kind == "xlsx" else csv_bytes(frame)

