"""Product-title training pairs from the Taobao title NER data (one character per line, BIO tags).

    python -m finetune.title_pairs ../shared/data/raw/taobao_title_ner/train.txt --out title_train.jsonl

Each title becomes {brand, product, points, platform, title}: the brand is the first HPPX span,
the product the first HCCX span, and the points are the other words of the title (jieba), in
order. Titles over the 淘宝 limit are left out, so a model learns titles that fit. The rows
are what the title task's `training_pair` reads (`contentgen finetune --task title --data ...`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contentgen.inputs import write_jsonl
from contentgen.tasks.title.task import DEFAULT_TITLE_PLATFORM, TITLE_LIMITS, title_width

WORD = re.compile(r"[\w.]+")


def read_bio(path: Path) -> Iterator[list[tuple[str, str]]]:
    """Titles as [(character, tag)], one blank line between titles."""
    title: list[tuple[str, str]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if title:
                yield title
            title = []
            continue
        parts = line.split()
        title.append((" ", parts[0]) if len(parts) == 1 else (parts[0], parts[-1]))
    if title:
        yield title


def spans(title: list[tuple[str, str]], kind: str) -> list[tuple[int, int]]:
    found, start = [], None
    for index, (_, tag) in enumerate([*title, ("", "O")]):
        if start is not None and tag != f"I-{kind}":
            found.append((start, index))
            start = None
        if tag == f"B-{kind}":
            start = index
    return found


def title_pair(title: list[tuple[str, str]], limit: int = TITLE_LIMITS[DEFAULT_TITLE_PLATFORM]) -> dict[str, Any] | None:
    import jieba

    text = "".join(ch for ch, _ in title).strip()
    products = spans(title, "HCCX")
    if not products or not text or title_width(text) > limit:
        return None
    brands = spans(title, "HPPX")
    brand = "".join(ch for ch, _ in title[slice(*brands[0])]) if brands else ""
    product = "".join(ch for ch, _ in title[slice(*products[0])])
    rest = text
    for word in (brand, product):
        if word:
            rest = rest.replace(word, " ", 1)
    points = list(dict.fromkeys(w for w in jieba.cut(rest) if WORD.fullmatch(w) and len(w) >= 2))
    return {"brand": brand, "product": product, "points": ",".join(points), "platform": DEFAULT_TITLE_PLATFORM,
            "title": text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bio", type=Path, help="train.txt / dev.txt / test.txt of taobao_title_ner")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    titles = list(read_bio(args.bio))
    rows = [pair for pair in (title_pair(t) for t in titles) if pair is not None]
    write_jsonl(args.out, rows)
    print(f"{len(rows)} pairs from {len(titles)} titles -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
