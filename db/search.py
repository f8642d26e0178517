"""Word-level Chinese search text (jieba), portable to SQLite and PostgreSQL via LIKE."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)
_SPACE = re.compile(r"\s+")


def words(text: str) -> list[str]:
    """Search words: jieba's search-engine mode also yields the parts of long words
    (便携榨汁杯 -> 便携, 榨汁, 榨汁杯 …), so a shorter query word still matches."""
    return [w.lower() for w in jieba.cut_for_search(text or "") if w.strip() and not _SPACE.fullmatch(w)]


def search_text(texts: Iterable[str]) -> str:
    unique = dict.fromkeys(w for text in texts for w in words(text))
    return " " + " ".join(unique) + " " if unique else ""


def query_words(query: str) -> list[str]:
    """Words to require: jieba's plain cut of the query (its longest words)."""
    return list(dict.fromkeys(w.lower() for w in jieba.cut(query or "") if w.strip()))
