"""History export: CSV with a UTF-8 BOM (so Excel shows Chinese) and XLSX."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd

from db.models import Request

# A cell starting with one of these is run as a formula by Excel / WPS ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet shows as typed: a leading apostrophe keeps a formula-like cell
    (=HYPERLINK(...), +cmd|...) as text. Stored data is untouched; only exports are changed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(spreadsheet_safe)


TASK_NAMES = {"copy": "营销文案", "reply": "客服回复", "sentiment": "情感标签", "rewrite": "合规改写"}


def history_frame(rows: Sequence[Request]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "记录号": r.id,
                "时间": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "用户": r.user_name,
                "任务": TASK_NAMES.get(r.task, r.task),
                "输入": r.input_text,
                "输出": "\n---\n".join(res.text for res in r.results),
                "标签": ",".join(res.label for res in r.results if res.label),
                "状态": r.status,
                "模型": r.model_id,
                "适配器": r.adapter_id or "",
                "耗时(毫秒)": round(r.latency_ms or 0),
            }
            for r in rows
        ],
        columns=["记录号", "时间", "用户", "任务", "输入", "输出", "标签", "状态", "模型", "适配器", "耗时(毫秒)"],
    )


def to_csv_bytes(rows: Sequence[Request]) -> bytes:
    return safe_frame(history_frame(rows)).to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(rows: Sequence[Request]) -> bytes:
    buffer = io.BytesIO()
    safe_frame(history_frame(rows)).to_excel(buffer, index=False, sheet_name="历史记录", engine="openpyxl")
    return buffer.getvalue()
