"""广告法 check speed: building a checker and checking 20,000 characters, as /v1/check does.

    .venv/bin/python bench/bench_check.py [--repo OTHER_CHECKOUT]    # --repo: measure another version's code
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
parser.add_argument("--chars", type=int, default=20_000)
args = parser.parse_args()
sys.path.insert(0, str(args.repo))

from contentgen.compliance import ComplianceChecker  # noqa: E402

text = ("第一坊桃酥全网最好，入口即化，" * (args.chars // 14 + 1))[: args.chars]
started = time.perf_counter()
checker = ComplianceChecker(protected_words=["第一坊", "桃酥"])
built = time.perf_counter()
findings = checker.check(text)
checked = time.perf_counter()
ComplianceChecker(protected_words=["第一坊", "蛋黄酥"]).check("第一坊蛋黄酥，全网最好")  # the next request
following = time.perf_counter()
print(json.dumps({"repo": str(args.repo), "chars": args.chars, "findings": len(findings),
                  "first_checker_s": round(built - started, 3), "check_s": round(checked - built, 3),
                  "next_request_s": round(following - checked, 3)}, ensure_ascii=False))
