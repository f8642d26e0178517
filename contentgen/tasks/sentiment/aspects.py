"""Aspect tags (物流/质量/价格/…): which aspects a review talks about, and how it feels about each.

Aspects and their keywords are data per industry (电商, 餐饮, 酒店, 汽车: contentgen/tasks/sentiment/aspects.csv
or CONTENTGEN_ASPECTS, columns industry, aspect, keywords).
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
RULES = Path(__file__).with_name("aspects.csv")
CLAUSE_SPLIT = re.compile(r"[，。！？；,.!?;~～\n]+")


DEFAULT_INDUSTRY = "电商"


def load_aspect_sets(path: Path | None = None) -> dict[str, dict[str, set[str]]]:
    """Industry -> aspect -> keywords. A file without an industry column is one set, used for every industry."""
    path = Path(path or RULES)
    sets: dict[str, dict[str, set[str]]] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("aspect", "").strip():
                industry = (row.get("industry") or "").strip() or DEFAULT_INDUSTRY
                sets.setdefault(industry, {})[row["aspect"].strip()] = set(row["keywords"].split())
    return sets


def industry_aspects(sets: dict[str, dict[str, set[str]]], industry: str = "") -> dict[str, set[str]]:
    """One industry's aspects: 电商's when the file has no such industry, the file's only set when it has no 电商."""
    return sets.get(industry or DEFAULT_INDUSTRY) or sets.get(DEFAULT_INDUSTRY) or next(iter(sets.values()), {})


def load_aspects(path: Path | None = None, industry: str = DEFAULT_INDUSTRY) -> dict[str, set[str]]:
    return industry_aspects(load_aspect_sets(path), industry)


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
