"""Build the train/dev/test splits of the three hand-written gold sets, and check them.

    python finetune/gold/build_splits.py

Reads copy/raw/*.jsonl + copy/categories.csv, faq/faqs/ + faq/messages/ + faq/raw/faqs_*.jsonl,
neutral/raw/{neutral,contrast}.jsonl, and writes (UTF-8, ensure_ascii=False, one JSON object a line,
rows sorted by id, each with a "split" field):

    copy/{train,dev,test}.jsonl      every brief->copy row, split by its category's split in categories.csv
    faq/splits.csv                   faq,trade,company,split,entries,messages
    faq/{train,dev,test}.jsonl       one row per customer message (the entries stay in faq/faqs/)
    neutral/{train,dev,test}.jsonl   neutral.jsonl + contrast.jsonl, split by category

It stops with a non-zero exit (and writes nothing) on: a copy category missing from categories.csv,
a category or FAQ in two splits, a message label that is not an entry id of its FAQ, duplicate ids,
duplicate texts, or a test text that also appears in train or dev. Standard library only; the output
depends only on the input files.
"""
import csv
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

GOLD = Path(__file__).resolve().parent
SPLITS = ("train", "dev", "test")

# FAQs are split whole: a model is scored on companies whose FAQ it never saw
FAQ_TEST = {"f05-hotel", "f07-creditcard", "f13-gym", "f17-babygoods", "f20-housekeeping"}
FAQ_DEV = {"f03-skincare", "f09-phone", "f15-autoservice", "f19-powerbank"}

# neutral texts are split by category (the exact strings used in the data)
NEUTRAL_SPLIT = {
    "train": ["服装鞋包", "数码电子", "家用电器", "食品生鲜", "外卖餐饮", "家居日用", "母婴用品", "运动户外",
              "图书文具", "汽车用品"],
    "dev": ["美妆个护", "酒店住宿", "宠物用品"],
    "test": ["旅游出行", "教育课程", "生活服务（家政/维修/美发）"],
}
NEUTRAL_LABELS = {"neutral", "positive", "negative"}
COPY_FIELDS = ("id", "platform", "category", "industry", "product", "brand", "points", "tone", "length", "copy")


def fail(message):
    sys.exit(f"build_splits: 检查失败 / check failed: {message}")


def check(ok, message):
    if not ok:
        fail(message)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in sorted(rows, key=lambda r: r["id"]))


def norm(text):
    """The text as compared for duplicates: NFKC, no whitespace or punctuation, lower case."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


def check_unique(values, what):
    dups = sorted(v for v, n in Counter(values).items() if n > 1)
    check(not dups, f"重复的{what} / duplicate {what}: {dups[:5]}")


def check_splits(rows, key, text, what):
    """Every `key` value (category, FAQ) in one split only; no test text also in train or dev."""
    splits_of = defaultdict(set)
    for r in rows:
        splits_of[r[key]].add(r["split"])
    mixed = sorted(k for k, s in splits_of.items() if len(s) > 1)
    check(not mixed, f"{what} 出现在多个划分中 / {what} in more than one split: {mixed}")
    seen = {norm(r[text]) for r in rows if r["split"] != "test"}
    leaked = sorted(r["id"] for r in rows if r["split"] == "test" and norm(r[text]) in seen)
    check(not leaked, f"test 文本也出现在 train/dev / test text also in train or dev: {leaked[:5]}")


def build_copy():
    with open(GOLD / "copy/categories.csv", encoding="utf-8") as f:
        cats = list(csv.DictReader(f))
    check_unique([c["category"] for c in cats], "categories.csv category")
    check(all(c["split"] in SPLITS for c in cats), "categories.csv: split must be train/dev/test")
    split_of = {c["category"]: c["split"] for c in cats}
    industry_of = {c["category"]: c["industry"] for c in cats}

    rows = [r for path in sorted(GOLD.glob("copy/raw/*.jsonl")) for r in read_jsonl(path)]
    for r in rows:
        check(r.get("category") in split_of, f"{r.get('id')}: 品类不在 categories.csv / category "
                                             f"{r.get('category')!r} missing from categories.csv")
        check(r["industry"] == industry_of[r["category"]], f"{r['id']}: industry differs from categories.csv")
        missing = [k for k in COPY_FIELDS if k not in r]
        check(not missing, f"{r['id']}: missing fields {missing}")
        check(isinstance(r["points"], list) and r["points"], f"{r['id']}: points must be a non-empty list")
        r["split"] = split_of[r["category"]]
    check_unique([r["id"] for r in rows], "copy id")
    check_unique([norm(r["copy"]) for r in rows], "copy text")
    check_unique([(r["platform"], r["brand"], r["product"]) for r in rows], "copy brief (platform, brand, product)")
    check_splits(rows, "category", "copy", "copy category")
    return rows


def build_faq():
    lists = [r for path in sorted(GOLD.glob("faq/raw/faqs_*.jsonl")) for r in read_jsonl(path)]
    check_unique([f["faq"] for f in lists], "faq id in faq/raw/faqs_*.jsonl")
    names = sorted(p.stem for p in (GOLD / "faq/faqs").glob("*.jsonl"))
    check(names == sorted(f["faq"] for f in lists), "faq/faqs/ and faq/raw/faqs_*.jsonl list different FAQs")
    check(sorted(p.stem for p in (GOLD / "faq/messages").glob("*.jsonl")) == names,
          "faq/faqs/ and faq/messages/ hold different FAQs")
    check(not FAQ_TEST & FAQ_DEV, f"FAQ 同时在 test 和 dev / FAQ in test and dev: {sorted(FAQ_TEST & FAQ_DEV)}")
    unknown = sorted((FAQ_TEST | FAQ_DEV) - set(names))
    check(not unknown, f"unknown FAQ in the split lists: {unknown}")

    table, rows = [], []
    for f in sorted(lists, key=lambda f: f["faq"]):
        faq = f["faq"]
        split = "test" if faq in FAQ_TEST else "dev" if faq in FAQ_DEV else "train"
        entries = read_jsonl(GOLD / "faq/faqs" / f"{faq}.jsonl")
        messages = read_jsonl(GOLD / "faq/messages" / f"{faq}.jsonl")
        entry_ids = [e["id"] for e in entries]
        check_unique(entry_ids, f"entry id in {faq}")
        check((len(entries), len(messages)) == (f["entries"], f["messages"]), f"{faq}: {len(entries)} entries, "
              f"{len(messages)} messages; faq/raw/faqs_*.jsonl says {f['entries']}, {f['messages']}")
        for m in messages:
            check(m["faq"] == faq, f"{m['id']}: faq field {m['faq']!r} but file {faq}")
            bad = [a for a in m["answers"] if a not in entry_ids]
            check(not bad, f"{m['id']}: 标签 {bad} 不是 {faq} 的条目 / label is not an entry id of {faq}")
            check(len(set(m["answers"])) == len(m["answers"]), f"{m['id']}: a label repeated in answers")
            check(m["kind"] != "none" or not m["answers"], f"{m['id']}: kind none with answers")
            rows.append({**m, "split": split})
        check_unique([norm(m["message"]) for m in messages], f"message text in {faq}")
        table.append({"faq": faq, "trade": f["trade"], "company": f["company"], "split": split,
                      "entries": len(entries), "messages": len(messages)})
    check_unique([r["id"] for r in rows], "message id")
    check_splits(rows, "faq", "message", "FAQ")
    # the same short line sent to two different companies is two items (its label depends on the FAQ)
    by_text = defaultdict(list)
    for r in rows:
        by_text[norm(r["message"])].append(r)
    for same in (v for v in by_text.values() if len(v) > 1):
        print("note: same message in two FAQs:", ", ".join(f"{r['id']} ({r['split']}) {r['answers']}" for r in same))
    return table, rows


def build_neutral():
    split_of = {c: s for s, cs in NEUTRAL_SPLIT.items() for c in cs}
    check_unique([c for cs in NEUTRAL_SPLIT.values() for c in cs], "neutral category in NEUTRAL_SPLIT")
    rows = read_jsonl(GOLD / "neutral/raw/neutral.jsonl") + read_jsonl(GOLD / "neutral/raw/contrast.jsonl")
    for r in rows:
        check(r["category"] in split_of, f"{r['id']}: 未知品类 / unknown category {r['category']!r}")
        check(r["label"] in NEUTRAL_LABELS, f"{r['id']}: unknown label {r['label']!r}")
        r["split"] = split_of[r["category"]]
    check_unique([r["id"] for r in rows], "neutral id")
    check_unique([norm(r["text"]) for r in rows], "neutral text")
    check_splits(rows, "category", "text", "neutral category")
    return rows


def write_splits(folder, rows, by):
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        write_jsonl(GOLD / folder / f"{split}.jsonl", part)
        counts = ", ".join(f"{k} {n}" for k, n in sorted(Counter(r[by] for r in part).items()))
        print(f"{folder}/{split}.jsonl: {len(part)} rows ({counts})")


if __name__ == "__main__":
    # every check runs before anything is written
    copy_rows = build_copy()
    faq_table, faq_rows = build_faq()
    neutral_rows = build_neutral()

    write_splits("copy", copy_rows, "platform")
    with open(GOLD / "faq/splits.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["faq", "trade", "company", "split", "entries", "messages"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(faq_table)
    print("faq/splits.csv:", ", ".join(f"{s} {sum(t['split'] == s for t in faq_table)} FAQs" for s in SPLITS))
    write_splits("faq", faq_rows, "kind")
    write_splits("neutral", neutral_rows, "label")
