"""Aspect tags (物流/质量/价格/…): which aspects a review talks about, and how it feels about each.

Aspects and their keywords are data (contentgen/rules/aspects.csv or CONTENTGEN_ASPECTS).
A clause that mentions an aspect's keyword (a jieba word, so 值 does not fire inside 价值)
is scored for polarity with the same label scoring as the whole review.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)
RULES = Path(__file__).with_name("rules") / "aspects.csv"
CLAUSE_SPLIT = re.compile(r"[，。！？；,.!?;~～\n]+")


def load_aspects(path: Path | None = None) -> dict[str, set[str]]:
    path = Path(path or RULES)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {row["aspect"].strip(): set(row["keywords"].split()) for row in csv.DictReader(fh)
                if row.get("aspect", "").strip()}


def aspect_clauses(text: str, aspects: dict[str, set[str]]) -> dict[str, str]:
    """Aspect -> the clauses mentioning it (joined), in the order the text mentions them."""
    found: dict[str, list[str]] = {}
    for clause in CLAUSE_SPLIT.split(text):
        if not clause.strip():
            continue
        words = set(jieba.lcut(clause))
        for aspect, keywords in aspects.items():
            if words & keywords:
                found.setdefault(aspect, []).append(clause.strip())
    return {aspect: "，".join(parts) for aspect, parts in found.items()}
