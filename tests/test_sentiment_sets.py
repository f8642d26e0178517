"""The ChnSentiCorp files that stand in for the published benchmark."""

import json

import pytest

from finetune.sentiment_sets import chnsenticorp_rows


def write_reviews(shared, split, rows):
    folder = shared / "sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    file = {"dev": "dev.jsonl", "test": "test.jsonl"}[split]
    (folder / file).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


ROWS = [
    # a book review merged under online shopping, but a ChnSentiCorp text
    {"id": "a", "text": "这本书很好", "label": "positive", "source": "online_shopping_10_cats",
     "all_sources": ["ChnSentiCorp_hf", "online_shopping_10_cats"], "chnsenticorp_hf_orig_split": ["train"],
     "category": "书籍"},
    # a text of ChnSentiCorp's own test split
    {"id": "b", "text": "房间太小", "label": "negative", "source": "ChnSentiCorp_htl_all",
     "all_sources": ["ChnSentiCorp_hf", "ChnSentiCorp_htl_all"], "chnsenticorp_hf_orig_split": ["test"],
     "category": "酒店"},
    # not ChnSentiCorp at all
    {"id": "c", "text": "外卖很快", "label": "positive", "source": "waimai_10k"},
]


@pytest.mark.parametrize(("split", "ids", "official"), [("dev", ["a"], [False]), ("test", ["a", "b"], [False, True])])
def test_chnsenticorp_rows_follow_all_sources_and_keep_its_test_split_out_of_dev(tmp_path, split, ids, official):
    write_reviews(tmp_path, split, ROWS)
    rows = chnsenticorp_rows(tmp_path, split)
    assert [r["id"] for r in rows] == ids
    assert [r["official_test"] for r in rows] == official
    assert {r["source"] for r in rows} == {"chnsenticorp"}
    assert rows[0]["origin"] == "书籍"
