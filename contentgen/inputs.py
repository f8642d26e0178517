"""Parsing what users type or upload into task inputs, and writing the JSONL files handed back."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from contentgen.errors import UserFacingError

_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_unstorable_text(value: Any, where: str = "输入") -> None:
    """A NUL character or a lone surrogate (a broken copy-paste) cannot be stored on every
    database: refused the same way on SQLite and PostgreSQL, with a Chinese message."""
    if isinstance(value, str):
        if "\x00" in value or _SURROGATE.search(value):
            raise UserFacingError(f"{where}含有无法保存的字符（空字符或不成对的 Unicode 代理码），"
                                  "请删除后重试（常见于从网页或文档复制的乱码）。")
    elif isinstance(value, dict):
        for item in value.values():
            refuse_unstorable_text(item, where)
    elif isinstance(value, (list, tuple)):
        for item in value:
            refuse_unstorable_text(item, where)
    elif is_dataclass(value):
        refuse_unstorable_text(asdict(value), where)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """One JSON object per line, Chinese kept readable; the folder is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def split_points(raw: str) -> tuple[str, ...]:
    # Chinese users type ，、； as often as ASCII commas.
    for sep in "，、;；\n":
        raw = raw.replace(sep, ",")
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def read_context_file(path: Path) -> list[dict[str, str]]:
    """JSON list of {role, text}, or plain lines "顾客：..." / "客服：..."."""
    raw = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return parse_context_lines(raw)
    if not isinstance(data, list):
        raise UserFacingError("对话文件应为 JSON 列表，例如 [{\"role\": \"customer\", \"text\": \"...\"}]。")
    return [{"role": str(t.get("role", "customer")), "text": str(t.get("text", ""))}
            for t in data if isinstance(t, dict)]


def parse_context_lines(raw: str) -> list[dict[str, str]]:
    """Lines "顾客：..." / "客服：..."; a line without a speaker counts as the customer's."""
    turns = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        speaker, sep, text = line.replace(":", "：", 1).partition("：")
        if sep and speaker.strip() in {"客服", "agent", "坐席"}:
            turns.append({"role": "agent", "text": text.strip()})
        elif sep and speaker.strip() in {"顾客", "customer", "用户", "客户"}:
            turns.append({"role": "customer", "text": text.strip()})
        else:
            turns.append({"role": "customer", "text": line.strip()})
    return turns


# An XLSX is a zip: its sheets may expand far beyond the upload (147 KB held a million rows).
MAX_XLSX_EXPANDED = 200_000_000


def check_xlsx_size(data: bytes, filename: str) -> None:
    """Refuse an Excel file whose contents expand past MAX_XLSX_EXPANDED before reading it."""
    import io
    import zipfile

    try:
        expanded = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except zipfile.BadZipFile as exc:
        raise UserFacingError(f"文件“{filename}”不是有效的 Excel（.xlsx）文件，请重新保存后上传。") from exc
    if expanded > MAX_XLSX_EXPANDED:
        raise UserFacingError(f"Excel 文件“{filename}”解压后约 {expanded // 1_000_000} MB，超过上限 "
                              f"{MAX_XLSX_EXPANDED // 1_000_000} MB。请删去多余的工作表或拆分后上传。")


def read_table(data: bytes, filename: str):
    """A CSV (UTF-8, UTF-8 with BOM or GBK/GB18030), JSONL or XLSX upload as a DataFrame."""
    import io

    import pandas as pd

    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".jsonl":
            return pd.read_json(io.BytesIO(data), lines=True)
        if suffix in {".xlsx", ".xlsm"}:
            check_xlsx_size(data, filename)
            return pd.read_excel(io.BytesIO(data))
        if suffix in {".csv", ".txt"}:
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    return pd.read_csv(io.StringIO(data.decode(encoding)), dtype=str)
                except UnicodeDecodeError:
                    continue
            raise UserFacingError("无法识别文件编码。请另存为 UTF-8 或 GBK 编码的 CSV 后重试。")
    except UserFacingError:
        raise
    except Exception as exc:  # pandas/openpyxl parse errors
        raise UserFacingError(f"文件“{filename}”无法读取（{exc}）。请检查文件是否损坏或格式是否正确。") from exc
    raise UserFacingError("只支持 .csv、.jsonl 或 .xlsx 文件。")


def texts_from_table(frame, column: str) -> list[str]:  # noqa: ANN001
    if column not in frame.columns:
        raise UserFacingError(
            f"文件中没有“{column}”列（现有列：{'、'.join(map(str, frame.columns))}）。请指定文本所在的列。"
        )
    return ["" if v is None or v != v else str(v) for v in frame[column].tolist()]


def read_texts(path: Path, column: str | None, known: tuple[str, ...] = ()) -> list[str]:
    """The texts of one column; with no column named, the first of `known` (评论, 内容, …) the file has."""
    path = Path(path)
    if not path.is_file():
        raise UserFacingError(f"找不到文件“{path}”，请检查路径。")
    frame = read_table(Path(path).read_bytes(), Path(path).name)
    if column is None:
        names = {str(c).strip().lower(): c for c in frame.columns}
        column = next((names[k.lower()] for k in known if k.lower() in names), known[0] if known else "text")
    return texts_from_table(frame, column)
