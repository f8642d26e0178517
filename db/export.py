"""Spreadsheet exports: CSV with a UTF-8 BOM (so Excel shows Chinese) and XLSX, safe to open."""

from __future__ import annotations

import io

import pandas as pd

# A cell starting with one of these is run as a formula by Excel / WPS ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet shows as typed: a leading apostrophe keeps a formula-like cell
    (=HYPERLINK(...), +cmd|...) as text. Stored data is untouched; only exports are changed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell and every column name (an uploaded header can be a formula too) made safe."""
    safe = frame.map(spreadsheet_safe)
    safe.columns = [spreadsheet_safe(str(c)) for c in frame.columns]
    return safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "Sheet1") -> bytes:
    buffer = io.BytesIO()
    safe_frame(frame).to_excel(buffer, index=False, sheet_name=sheet_name, engine="openpyxl")
    return buffer.getvalue()
