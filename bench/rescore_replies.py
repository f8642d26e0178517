"""Score stored reply-grounded predictions with today's checks (no model): a run made before a
change to the verifier and one made after are judged by the same rules.

    python bench/rescore_replies.py PREDICTIONS.jsonl finetune/reply_sets/dev.jsonl

PREDICTIONS is what `contentgen eval --task reply-grounded --predictions` wrote; the labels come
from the set file (the predictions of older runs carry the predicted handoff under the label's name).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contentgen.evaluation.evaluate import judge_reply, reply_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--faq", type=Path, default=None, help="默认为标注文件旁的 faq.jsonl")
    args = parser.parse_args()
    faq = {str(e["id"]): e for e in map(json.loads, (args.faq or args.labels.with_name("faq.jsonl")).open(encoding="utf-8"))}
    labels = {row["id"]: row for row in map(json.loads, args.labels.open(encoding="utf-8"))}
    judged = []
    for stored in map(json.loads, args.predictions.open(encoding="utf-8")):
        row = labels[stored["id"]]
        expected = faq.get(str(row["entry"])) if row.get("entry") is not None else None
        used = [faq[str(i)] for i in stored.get("sources", []) if str(i) in faq]
        verdict = judge_reply(row, stored["output"], used, expected)
        verdict["handoff"] = bool(stored.get("handoff_reason"))
        judged.append((row, verdict))
    print(json.dumps(reply_metrics(judged), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
