"""Aspect polarity F1 through the service (issue 19, item 3): CCF BDCI 2018 car-forum posts (the test
portion `finetune/sentiment_sets.py` holds out: content id hash % 5 == 0) with the 汽车 aspect set, and
the ASAP Dianping test sample with the 餐饮 set (its 18 fine aspects folded into 位置/服务/价格/环境/菜品).

Scored as the CCF competition did: a post's (aspect, polarity) pairs against the gold pairs, micro
precision/recall/F1; also aspects alone, and polarity accuracy where the aspect was found.

    python -m finetune.aspect_eval --set ccf --limit 300 --out bench/results/aspects_ccf.json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from pathlib import Path

from finetune.sentiment_sets import SHARED, ccf_aspects, ccf_split

POLARITY = {-1: "negative", 0: "neutral", 1: "positive"}
ASAP_GROUPS = {"location": "位置", "service": "服务", "price": "价格", "environment": "环境", "dish": "菜品"}


def ccf_posts(shared: Path = SHARED) -> list[dict]:
    return [{"id": cid, "text": text, "gold": sorted({(aspect, POLARITY[value]) for aspect, value in aspects})}
            for cid, (text, aspects) in sorted(ccf_aspects(shared).items()) if ccf_split(cid) == "test"]


def asap_reviews(shared: Path = SHARED) -> list[dict]:
    """A coarse aspect is mentioned when any of its fine aspects is (not -2); negative if any fine one is."""
    reviews = []
    with open(shared / "raw" / "asap_samples" / "test_sample.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            pairs = set()
            for prefix, aspect in ASAP_GROUPS.items():
                values = [int(float(v)) for k, v in row.items() if k.startswith(prefix + "_") and v not in ("", None)]
                values = [v for v in values if v != -2]
                if values:
                    label = "negative" if -1 in values else "positive" if 1 in values else "neutral"
                    pairs.add((aspect, label))
            reviews.append({"id": row["index"], "text": row["reviewbody"].strip(), "gold": sorted(pairs)})
    return reviews


def f1(found: int, predicted: int, gold: int) -> dict[str, float]:
    precision = found / predicted if predicted else 0.0
    recall = found / gold if gold else 0.0
    return {"precision": round(100 * precision, 2), "recall": round(100 * recall, 2),
            "f1": round(100 * 2 * precision * recall / (precision + recall), 2) if precision + recall else 0.0}


def score(rows: list[dict], predicted: list[list[tuple[str, str]]]) -> dict:
    pairs = aspects = polarity_right = 0
    n_pred = n_gold = 0
    for row, got in zip(rows, predicted):
        gold, mine = set(map(tuple, row["gold"])), set(got)
        pairs += len(gold & mine)
        gold_aspects, my_aspects = {a for a, _ in gold}, {a for a, _ in mine}
        aspects += len(gold_aspects & my_aspects)
        polarity_right += sum(1 for a, label in mine if (a, label) in gold)
        n_pred, n_gold = n_pred + len(mine), n_gold + len(gold)
    return {"items": len(rows), "gold_pairs": n_gold, "predicted_pairs": n_pred,
            "aspect_polarity": f1(pairs, n_pred, n_gold), "aspect_only": f1(aspects, n_pred, n_gold),
            "polarity_accuracy_on_found_aspects": round(100 * polarity_right / aspects, 2) if aspects else 0.0}


def main() -> None:
    from contentgen.config import load_settings
    from contentgen.runtime import build_service
    from contentgen.tasks import TagRequest
    from db.database import Database

    parser = argparse.ArgumentParser(description="方面情感 F1（CCF 汽车论坛测试部分 / ASAP 餐饮样本）")
    parser.add_argument("--set", choices=["ccf", "asap"], default="ccf")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--adapter", default="auto")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = ccf_posts() if args.set == "ccf" else asap_reviews()
    random.Random(0).shuffle(rows)
    rows = rows[: args.limit]
    industry = "汽车" if args.set == "ccf" else "餐饮"
    scratch = tempfile.mkdtemp(prefix="aspect-eval-")
    service = build_service(load_settings(), source="cli", store=Database(f"sqlite:///{scratch}/eval.db"))
    started = time.perf_counter()
    predicted = []
    for start in range(0, len(rows), 16):
        results = service.sentiment.tag([TagRequest(text=r["text"], industry=industry) for r in rows[start:start + 16]],
                              adapter=args.adapter)
        predicted += [[(a["aspect"], a["label"]) for a in r.aspects] for r in results]
    result = {"set": args.set, "industry": industry, "adapter": args.adapter,
              "head": bool(service.engine.heads.get("sentiment")) and args.adapter == "auto",
              **score(rows, predicted), "seconds": round(time.perf_counter() - started, 1),
              "samples": [{"text": r["text"][:80], "gold": r["gold"], "predicted": p} for r, p in zip(rows[:20], predicted)]}
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, ensure_ascii=False, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
