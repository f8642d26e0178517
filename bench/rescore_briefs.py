"""Score stored copy-brief outputs with today's checks (no model): before and after a change to
the verifier are then judged by the same rules.

    python bench/rescore_briefs.py bench/results/copy_briefs_s17_dev_after.json finetune/briefs/dev.jsonl
    python bench/rescore_briefs.py OLD.json finetune/briefs/dev.jsonl --show 编造成分或配置

Prints the publishable rate per platform and the share failing each check; --show prints every
finding of one category with its sentence, to read for false alarms.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contentgen.compliance import clause_around  # noqa: E402
from contentgen.evaluation.evaluate import brief_findings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a copy-briefs result file with its outputs")
    parser.add_argument("briefs", type=Path)
    parser.add_argument("--show", default="", help="print each finding of this category")
    args = parser.parse_args()
    stored = json.loads(args.results.read_text(encoding="utf-8"))
    outputs = stored["outputs"] if isinstance(stored, dict) else stored
    briefs = {row["id"]: row for row in map(json.loads, args.briefs.open(encoding="utf-8")) if row}
    scored = list(zip(outputs, brief_findings([briefs[item["id"]] for item in outputs],
                                              [item["output"] for item in outputs])))
    by_platform: dict[str, list[bool]] = {}
    failing: Counter[str] = Counter()
    for item, found in scored:
        by_platform.setdefault(briefs[item["id"]]["platform"], []).append(not found)
        failing.update({f["category"] for f in found})
        for f in found:
            if args.show and f["category"] == args.show:
                start, end = clause_around(item["output"], f["start"], f["end"]) if f["end"] else (0, 0)
                print(f"{item['id']} {f['text']!r} | {item['output'][start:end].strip()}")
    passed = [ok for oks in by_platform.values() for ok in oks]
    print(json.dumps({
        "publishable_rate": round(sum(passed) / len(passed), 4),
        "by_platform": {p: f"{sum(v)}/{len(v)}" for p, v in sorted(by_platform.items())},
        "failing_check_share": {c: round(n / len(passed), 4) for c, n in failing.most_common()},
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
