"""One product on all six platforms, and seconds for one and for three 篇幅 中 versions, through
the service as the CLI runs it (brand profile, best of several, revision, verifier).

    .venv/bin/python bench/bench_copy_platforms.py --out bench/results/copy_platforms_after.json

Run it on an older checkout (PYTHONPATH=<checkout>) for the "before" figures: the script only
uses what every version of the service has (generate, outputs, compliance, latency_ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRODUCT = {"product": "无线降噪耳机", "brand": "声悦", "points": ("40dB主动降噪", "30小时续航", "蓝牙5.3")}
PLATFORMS = ("电商详情", "小红书", "抖音", "朋友圈", "微博", "新闻稿")


def main() -> None:
    sys.path.append(str(ROOT))  # after PYTHONPATH: an older checkout given there is the one measured
    from bench.bench_engines import cpu_model, has_amx, others_running
    from contentgen.config import load_settings
    from contentgen.runtime import build_service
    from contentgen.tasks.copy.task import CopyRequest
    from db.database import Database

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started_with = others_running()
    with tempfile.TemporaryDirectory() as scratch:
        service = build_service(load_settings(), source="cli", store=Database(f"sqlite:///{scratch}/bench.db"))
        service.store.brands.save(PRODUCT["brand"])
        outputs = []
        for platform in PLATFORMS:
            request = CopyRequest(**PRODUCT, platform=platform, length="中")
            started = time.perf_counter()
            result = service.generate("copy", request)
            outputs.append({"platform": platform, "text": result.outputs[0],
                            "findings": [f"{f['category']}：{f['text']}" for f in result.compliance[0]],
                            "seconds": round(time.perf_counter() - started, 2)})
            print(platform, outputs[-1]["seconds"], "s", flush=True)
        timings: dict[str, list[float]] = {"one_version_s": [], "three_versions_s": []}
        for _ in range(args.rounds):
            for key, n in (("one_version_s", 1), ("three_versions_s", 3)):
                started = time.perf_counter()
                service.generate("copy", CopyRequest(**PRODUCT, platform="电商详情", length="中", n=n))
                timings[key].append(round(time.perf_counter() - started, 2))
    result = {
        "command": " ".join(sys.argv), "cpu": cpu_model(), "amx": has_amx(),
        "others_running_at_start": started_with, "engine": type(service.engine).__name__,
        **{k: statistics.median(v) for k, v in timings.items()}, "rounds": timings, "outputs": outputs,
    }
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("cpu", "one_version_s", "three_versions_s")}, ensure_ascii=False))


if __name__ == "__main__":
    main()
