"""Speed of the embedded models on this machine: load (cold and cached), time to first
token, decode tokens/s at batch 1 and 8, sentiment items/s by label scoring.

    .venv/bin/python bench/bench_models.py --models qwen2.5-coder-1.5b qwen2.5-coder-0.5b

Prints one JSON object per model and writes them to --out.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psutil
import torch

from contentgen.config import GenerationParams, ModelConfig
from contentgen.engine.transformers_engine import TransformersEngine
from contentgen.models import REGISTRY, converted_dir
from contentgen.tasks import CopyRequest, TagRequest, get_task

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PRODUCTS = [
    ("便携榨汁杯", ("USB充电", "300ml", "一键清洗")),
    ("轻薄羽绒服", ("90%白鸭绒", "可收纳", "防泼水")),
    ("保温杯", ("316不锈钢", "12小时保温")),
    ("无线降噪耳机", ("主动降噪", "30小时续航")),
    ("空气炸锅", ("5L大容量", "无油少烟")),
    ("儿童书包", ("护脊设计", "轻量")),
    ("蓝牙音箱", ("防水", "360度环绕声")),
    ("真丝睡衣", ("桑蚕丝", "亲肤透气")),
]
DECODE = GenerationParams(max_new_tokens=96, do_sample=False, repetition_penalty=1.1,
                          no_repeat_ngram_size=6)
NEW_TOKENS = 64


def copy_conversation(i: int):
    product, points = PRODUCTS[i % len(PRODUCTS)]
    return get_task("copy").conversation(CopyRequest(product=product, points=points, length="短"))


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def bench_model(name: str, cold: bool, sentiment_items: int) -> dict:
    result: dict = {"model": name}
    if cold:
        with tempfile.TemporaryDirectory() as tmp:
            # Assemble, verify, dequantize, save, load: what a fresh machine pays once.
            # In a child process, so its memory does not count against the cached load below.
            code = ("from pathlib import Path; from contentgen.config import ModelConfig; "
                    "from contentgen.engine.transformers_engine import TransformersEngine; "
                    f"TransformersEngine.from_config(ModelConfig(name_or_path={name!r}, cache_dir=Path({tmp!r})))")
            _, result["load_cold_s"] = timed(lambda: subprocess.run([sys.executable, "-c", code], check=True,
                                                                    capture_output=True))
    config = ModelConfig(name_or_path=name)
    engine, result["load_cached_s"] = timed(lambda: TransformersEngine.from_config(config))
    result["rss_gib_after_load"] = round(psutil.Process().memory_info().rss / 2**30, 2)
    result["dtype"] = str(engine.model.dtype)

    engine.generate([copy_conversation(0)], replace(DECODE, max_new_tokens=4))  # warm up kernels

    ttfts = []
    for i in range(3):
        started = time.perf_counter()
        stream = engine.stream([copy_conversation(i)], replace(DECODE, max_new_tokens=8))
        next(iter(stream))
        ttfts.append(time.perf_counter() - started)
        stream.close()
    result["ttft_s_median"] = round(statistics.median(ttfts), 2)

    for batch in (1, 8):
        # A fixed number of new tokens per sequence (no early stop), prefill included.
        inputs = engine._encode([engine.render(copy_conversation(i)) for i in range(batch)])
        with torch.inference_mode():
            _, seconds = timed(lambda: engine.model.generate(
                **inputs, min_new_tokens=NEW_TOKENS, max_new_tokens=NEW_TOKENS, do_sample=False,
                repetition_penalty=1.1, pad_token_id=engine.tokenizer.pad_token_id))
        result[f"tok_s_batch{batch}"] = round(batch * NEW_TOKENS / seconds, 1)

    rows = [json.loads(line) for line in (DATA / "sentiment" / "test.jsonl").open(encoding="utf-8")]
    rows = random.Random(0).sample(rows, sentiment_items)
    template = get_task("sentiment")
    words = list(template.label_words.values())
    scores, seconds = timed(lambda: engine.score_labels(
        [template.conversation(TagRequest(r["text"])) for r in rows], words))
    label_of = {w: label for label, w in template.label_words.items()}
    predicted = [label_of[max(s, key=s.get)] for s in scores]
    result["sentiment_items_s"] = round(len(rows) / seconds, 2)
    result["sentiment_items"] = len(rows)
    result["sentiment_acc_3way_zero_shot"] = round(
        sum(p == r["label"] for p, r in zip(predicted, rows)) / len(rows), 3)
    result["peak_rss_gib"] = round(psutil.Process().memory_info().rss / 2**30, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=list(REGISTRY))
    parser.add_argument("--no-cold", action="store_true", help="skip the cold (convert from GGUF) load")
    parser.add_argument("--sentiment-items", type=int, default=64)
    parser.add_argument("--out", default="bench/results/models.json")
    args = parser.parse_args()
    machine = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
               "torch": torch.__version__, "ram_gib": round(psutil.virtual_memory().total / 2**30)}
    results = []
    for name in args.models:
        converted_dir(REGISTRY[name], ModelConfig().cache_dir)  # registry name check
        results.append(bench_model(name, cold=not args.no_cold, sentiment_items=args.sentiment_items))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine, "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
