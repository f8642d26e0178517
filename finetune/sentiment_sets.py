"""Three-class sentiment sets (正面/中性/负面) built from the shared data (issue 19, item 2).

Reviews carry only positive/negative labels; neutral comes from text that states facts or takes no
side: Weibo posts labelled `neural` (SMP2020-EWECT), car-forum posts whose every aspect is neutral
(CCF BDCI 2018) and 3-star Dianping reviews (ASAP). Each of those sources also gives positive and
negative rows, so the source's style cannot stand in for the label. Splits never share a text:
- train: `sentiment/train.jsonl`, SMP folds 0-2, CCF posts with id hash % 5 >= 2, ASAP train sample
  (without the rows of `dev_3class_asap.jsonl`);
- dev (for choosing settings): `sentiment/dev.jsonl`, SMP fold 3, CCF hash 1, `dev_3class_asap.jsonl`;
- test (for the figures only): `sentiment/test.jsonl`, SMP fold 4, CCF hash 0 (also the aspect test
  portion), ASAP test sample.

    python -m finetune.sentiment_sets --out ~/.cache/contentgen/sentiment_sets
    python -m finetune.sentiment_sets --lora --out ~/.cache/contentgen/sentiment_sets_lora

Also written: `chnsenticorp_dev.jsonl` / `chnsenticorp_test.jsonl`, the reviews of the binary dev and
test files that are ChnSentiCorp texts, to choose and report against the published benchmark.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path

from contentgen.inputs import write_jsonl

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SMP_POLARITY = {"happy": "positive", "neural": "neutral", "angry": "negative", "sad": "negative"}
SMP_FOLDS = {"train": (0, 1, 2), "dev": (3,), "test": (4,)}
MAX_CHARS = 300  # long Dianping reviews: the opening says enough, and the prompt stays short

# Rows per split and source: (source, label) -> how many at most (a fixed-seed sample).
SIZES = {
    "train": {("reviews", "positive"): 1500, ("reviews", "negative"): 1500,
              ("smp", "neutral"): 700, ("smp", "positive"): 250, ("smp", "negative"): 250,
              ("ccf", "neutral"): 500, ("ccf", "positive"): 150, ("ccf", "negative"): 150,
              ("asap", "neutral"): 50, ("asap", "positive"): 50, ("asap", "negative"): 50},
    "dev": {("reviews", "positive"): 300, ("reviews", "negative"): 300,
            ("smp", "neutral"): 150, ("smp", "positive"): 50, ("smp", "negative"): 50,
            ("ccf", "neutral"): 150, ("ccf", "positive"): 50, ("ccf", "negative"): 50,
            ("asap", "neutral"): 200, ("asap", "positive"): 200, ("asap", "negative"): 200},
    "test": {("reviews", "positive"): 500, ("reviews", "negative"): 500,
             ("smp", "neutral"): 300, ("smp", "positive"): 100, ("smp", "negative"): 100,
             ("ccf", "neutral"): 300, ("ccf", "positive"): 100, ("ccf", "negative"): 100,
             ("asap", "neutral"): 100, ("asap", "positive"): 100, ("asap", "negative"): 100},
}
# The LoRA run's training file (`--lora`): many more reviews, ChnSentiCorp's hotel reviews (rows whose
# first source is ChnSentiCorp) as half of them, and every kind of neutral text the data has.
LORA_TRAIN_SIZES = {("reviews_chnsenticorp", "positive"): 2500, ("reviews_chnsenticorp", "negative"): 2500,
                    ("reviews", "positive"): 2500, ("reviews", "negative"): 2500,
                    ("smp", "neutral"): 2000, ("smp", "positive"): 500, ("smp", "negative"): 500,
                    ("ccf", "neutral"): 1000, ("ccf", "positive"): 250, ("ccf", "negative"): 250,
                    ("asap", "neutral"): 100, ("asap", "positive"): 100, ("asap", "negative"): 100}
REVIEW_FILES = {"train": "train.jsonl", "dev": "dev.jsonl", "test": "test.jsonl"}


def id_hash(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)


def ccf_split(content_id: str) -> str:
    bucket = id_hash(content_id) % 5
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def ccf_aspects(shared: Path = SHARED) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """Car-forum post id -> (text, its (aspect, polarity -1/0/1) rows): the file has a row per aspect."""
    posts: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    with open(shared / "raw" / "ccf_bdci2018_car_aspect" / "train_2.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text, aspects = posts.setdefault(row["content_id"], (row["content"].strip(), []))
            aspects.append((row["subject"], int(row["sentiment_value"])))
    return posts


def ccf_posts(shared: Path) -> list[dict]:
    """One row per post: neutral when every aspect is, else the sign all aspects share (mixed posts left out)."""
    posts = []
    for content_id, (text, aspects) in ccf_aspects(shared).items():
        values = [value for _, value in aspects]
        label = ("neutral" if all(v == 0 for v in values) else "positive" if min(values) >= 0
                 else "negative" if max(values) <= 0 else None)
        if label:
            posts.append({"id": f"ccf-{content_id}", "text": text, "label": label, "source": "ccf",
                          "split": ccf_split(content_id)})
    return posts


def smp_posts(shared: Path) -> list[dict]:
    posts = []
    for split, folds in SMP_FOLDS.items():
        for fold in folds:
            with open(shared / "raw" / "smp2020_ewect_full" / f"fold{fold}_dev.csv", encoding="utf-8") as fh:
                for number, row in enumerate(csv.DictReader(fh)):
                    label = SMP_POLARITY.get(row["labels"])
                    if label and row["content"].strip():
                        posts.append({"id": f"smp-{fold}-{number}", "text": row["content"].strip(), "label": label,
                                      "source": "smp", "split": split})
    return posts


def asap_reviews(shared: Path) -> list[dict]:
    """Stars to polarity (4-5 positive, 3 neutral, 1-2 negative), as dev_3class_asap.jsonl does."""
    tuning = [json.loads(line) for line in open(shared / "sentiment" / "dev_3class_asap.jsonl", encoding="utf-8")]
    tuning_texts = {row["text"] for row in tuning}
    reviews = [{"id": row["id"], "text": row["text"], "label": row["label"], "source": "asap", "split": "dev"}
               for row in tuning]
    for split, name in (("train", "train_sample.csv"), ("test", "test_sample.csv")):
        with open(shared / "raw" / "asap_samples" / name, encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                text, star = row["reviewbody"].strip(), float(row["star"])
                if text and text not in tuning_texts:
                    label = "positive" if star >= 4 else "neutral" if star == 3 else "negative"
                    reviews.append({"id": f"asap-{split}-{row['index']}", "text": text, "label": label,
                                    "source": "asap", "split": split})
    return reviews


def review_rows(shared: Path, split: str) -> list[dict]:
    rows = [json.loads(line) for line in open(shared / "sentiment" / REVIEW_FILES[split], encoding="utf-8")]
    return [{"id": row["id"], "text": row["text"], "label": row["label"], "source": "reviews",
             "origin": row.get("source", ""), "split": split} for row in rows]


def build(shared: Path = SHARED, seed: int = 0, lora: bool = False) -> dict[str, list[dict]]:
    """The three splits; `lora`: the train split with LORA_TRAIN_SIZES (dev and test unchanged)."""
    pools: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    everything = [*ccf_posts(shared), *smp_posts(shared), *asap_reviews(shared)]
    for split in REVIEW_FILES:
        everything += review_rows(shared, split)
    for row in everything:
        pools[(row["split"], row["source"], row["label"])].append(row)
        if row.get("origin", "").startswith("ChnSentiCorp"):
            pools[(row["split"], "reviews_chnsenticorp", row["label"])].append(row)
    sets: dict[str, list[dict]] = {}
    for split, sizes in {**SIZES, **({"train": LORA_TRAIN_SIZES} if lora else {})}.items():
        chosen, picked = [], set()
        for (source, label), size in sizes.items():
            pool = sorted((r for r in pools[(split, source, label)] if r["id"] not in picked), key=lambda r: r["id"])
            random.Random(f"{seed}-{split}-{source}-{label}").shuffle(pool)
            chosen += pool[:size]
            picked |= {r["id"] for r in pool[:size]}
        random.Random(f"{seed}-{split}").shuffle(chosen)
        sets[split] = [{**row, "text": row["text"][:MAX_CHARS]} for row in chosen]
    seen: set[str] = set()
    for split in ("test", "dev", "train"):  # a text in two splits stays in the later-listed one only
        sets[split] = [row for row in sets[split] if row["text"] not in seen]
        seen |= {row["text"] for row in sets[split]}
    return sets


def chnsenticorp_rows(shared: Path, split: str) -> list[dict]:
    """Reviews of `sentiment/<split>.jsonl` that are ChnSentiCorp texts (hotels, books, laptops: the
    published benchmark's mix), whatever source the row was merged under. `official_test` marks a text of
    ChnSentiCorp's own test split: dev leaves those out, so no choice is made on the benchmark's texts."""
    rows = []
    for line in open(shared / "sentiment" / REVIEW_FILES[split], encoding="utf-8"):
        row = json.loads(line)
        if "ChnSentiCorp_hf" not in (row.get("all_sources") or [row.get("source")]):
            continue
        official_test = "test" in (row.get("chnsenticorp_hf_orig_split") or [])
        if split == "dev" and official_test:
            continue
        rows.append({"id": row["id"], "text": row["text"], "label": row["label"], "source": "chnsenticorp",
                     "origin": row.get("category") or "", "official_test": official_test, "split": split})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--lora", action="store_true", help="train split for the LoRA run (LORA_TRAIN_SIZES)")
    args = parser.parse_args()
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    for split, rows in build(lora=args.lora).items():
        write_jsonl(out / f"{split}.jsonl", rows)
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            counts[f"{row['source']}/{row['label']}"] += 1
        print(split, len(rows), dict(sorted(counts.items())))
    for split in ("dev", "test"):
        rows = chnsenticorp_rows(SHARED, split)
        write_jsonl(out / f"chnsenticorp_{split}.jsonl", rows)
        print(f"chnsenticorp_{split}", len(rows), f"({sum(r['official_test'] for r in rows)} from its official test split)")


if __name__ == "__main__":
    main()
