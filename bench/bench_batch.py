"""Batch throughput on this machine, side by side with llama-cpp-python on the same GGUF.

    .venv/bin/python bench/bench_batch.py            # copy: 64-item job; sentiment: 200 reviews

1. copy: a 64-row batch job (AdvertiseGen test products) through `contentgen.usecases.batch` on the
   default model (transformers, bf16, auto batch size), aggregate generated tokens/s and the
   worker's peak RSS; then llama-cpp-python generating the same prompts one at a time
   (single stream) on the same GGUF, tokens/s.
2. sentiment: the same reviews labelled by label scoring on both embedded models (with the
   sentiment adapter where one is shipped), by llama-cpp-python answering the same prompt
   (one token, label words compared), and by SnowNLP; reviews/s and accuracy.

Writes bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from contentgen.usecases.batch import create_job, run_job  # noqa: E402
from contentgen.config import ModelConfig  # noqa: E402
from contentgen.models import REGISTRY, assemble_gguf  # noqa: E402
from contentgen.runtime import build_engine  # noqa: E402
from contentgen.usecases.service import ContentService
from contentgen.tasks import CopyRequest, TagRequest, get_task
from contentgen.tasks.copy.task import copy_params  # noqa: E402
from db.batches import BatchStore  # noqa: E402
from db.database import Database  # noqa: E402
from db.models import Request, Result  # noqa: E402
from contentgen.evaluation.evaluate import evaluate_snownlp, sample_rows  # noqa: E402

DATA = REPO.parent / "shared" / "data"
DEFAULT, FAST = "qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"
WARM_UP = 4  # reviews scored before the clock starts, on every side


class PeakRSS:
    """Samples this process's RSS in a thread (ru_maxrss would include earlier phases)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.2)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_name() -> str:
    # The CPU matters to every ratio here: torch's bf16 matmuls use AMX where the CPU has it.
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def copy_products(count: int) -> pd.DataFrame:
    rows = [r for r in sample_rows(DATA / "adgen" / "test.jsonl", count * 2, seed=0) if "<UNK>" not in r["content"]]
    return pd.DataFrame({"编号": [f"P{i:03d}" for i in range(count)],
                         "商品属性": [r["content"] for r in rows[:count]]})


def bench_copy_job(items: int, length: str) -> dict:
    frame = copy_products(items)
    with tempfile.TemporaryDirectory() as tmp:
        store = Database(f"sqlite:///{tmp}/bench.db")
        batches = BatchStore(store)
        with PeakRSS() as rss:
            engine = build_engine(ModelConfig(name_or_path=DEFAULT))
            service = ContentService(engine, store, user_name="bench", source="batch")
            job = create_job(batches, frame.to_csv(index=False).encode("utf-8"), "products.csv", "copy",
                             user_name="bench", options={"length": length})
            started = time.perf_counter()
            run_job(service, batches, job.job_id, output_path=Path(tmp) / "out.xlsx", progress=False)
            seconds = time.perf_counter() - started
        with store.sessions() as session:
            tokens = sum(r.completion_tokens or 0 for r in session.query(Result).join(Request)
                         .filter(Request.source == "batch"))
        conversations = [get_task("copy").conversation(CopyRequest(attributes=a, length=length))
                         for a in frame["商品属性"]]
        batch_size = engine.batch_size
        del engine, service
    return {"items": items, "length": length, "batch_size": batch_size, "seconds": round(seconds, 1),
            "generated_tokens": tokens, "tokens_per_s": round(tokens / seconds, 2),
            "peak_rss_gib": round(rss.peak / 2**30, 2)}, conversations


def llama(model: str, n_ctx: int = 2048):
    from llama_cpp import Llama

    path = assemble_gguf(REGISTRY[model], ModelConfig().cache_dir)
    return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=torch.get_num_threads(), verbose=False)


def bench_llama_copy(conversations, length: str, items: int) -> dict:
    model = llama(DEFAULT)
    params = copy_params(CopyRequest(attributes="x", length=length))
    tokens, started = 0, time.perf_counter()
    for conversation in conversations[:items]:
        out = model.create_chat_completion(messages=conversation, max_tokens=params.max_new_tokens,
                                           temperature=params.temperature, top_p=params.top_p, top_k=params.top_k,
                                           repeat_penalty=params.repetition_penalty, seed=0)
        tokens += out["usage"]["completion_tokens"]
    seconds = time.perf_counter() - started
    del model
    return {"items": items, "seconds": round(seconds, 1), "generated_tokens": tokens,
            "tokens_per_s": round(tokens / seconds, 2)}


def accuracy(predicted: list[str], gold: list[str]) -> float:
    return round(100 * sum(p == g for p, g in zip(predicted, gold)) / len(gold), 1)


def bench_scoring(model: str, rows: list[dict], adapter: str, compare_prefix_reuse: bool = False) -> list[dict]:
    """Label scoring on one model; with compare_prefix_reuse also without the shared prompt-start
    KV cache, in the same run, so the two rates form a ratio."""
    engine = build_engine(ModelConfig(name_or_path=model))
    chosen = adapter if adapter in engine.adapters else None
    template = get_task("sentiment")
    words = list(template.label_words.values())
    label_of = {w: label for label, w in template.label_words.items()}
    conversations = [template.conversation(TagRequest(text=r["text"])) for r in rows]
    runs = []
    for reuse in ((True, False) if compare_prefix_reuse else (True,)):
        engine.reuse_prefix = reuse
        engine.score_labels(conversations[:WARM_UP], words, adapter=chosen)  # kernels and caches, as llama.cpp's below
        started = time.perf_counter()
        scores = engine.score_labels(conversations, words, adapter=chosen)
        seconds = time.perf_counter() - started
        predicted = [label_of[max(s, key=s.get)] for s in scores]
        runs.append({"model": model, "adapter": chosen, "prefix_reuse": reuse,
                     "reviews_per_s": round(len(rows) / seconds, 2),
                     "accuracy": accuracy(predicted, [r["label"] for r in rows])})
    del engine
    return runs


def bench_llama_sentiment(rows: list[dict]) -> dict:
    """The same prompt, answered with one greedy token that is matched to the label words
    (logits for the prompt's last position only: llama.cpp's fast path)."""
    model = llama(DEFAULT)
    template = get_task("sentiment")
    for row in rows[:WARM_UP]:
        model.create_chat_completion(messages=template.conversation(TagRequest(text=row["text"])), max_tokens=1,
                                     temperature=0.0)
    started = time.perf_counter()
    predicted = []
    for row in rows:
        out = model.create_chat_completion(messages=template.conversation(TagRequest(text=row["text"])),
                                           max_tokens=1, temperature=0.0)
        token = out["choices"][0]["message"]["content"].strip()
        predicted.append(next((label for label, word in template.label_words.items()
                               if token and word.startswith(token)), "neutral"))
    seconds = time.perf_counter() - started
    del model
    return {"model": DEFAULT + " (llama.cpp, zero-shot)", "reviews_per_s": round(len(rows) / seconds, 2),
            "accuracy": accuracy(predicted, [r["label"] for r in rows])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copy-items", type=int, default=64)
    parser.add_argument("--llama-copy-items", type=int, default=16, help="single stream is slow: a subset")
    parser.add_argument("--length", default="短")
    parser.add_argument("--reviews", type=int, default=100, help="label scoring is prefill-bound: ~0.4 reviews/s on 2 cores")
    parser.add_argument("--skip", nargs="*", default=[], choices=["copy", "sentiment"])
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "batch.json"))
    args = parser.parse_args()
    torch.set_num_threads(psutil.cpu_count(logical=True))
    out = Path(args.out)
    # Phases can be run separately (--skip); their results are merged into one file.
    previous = json.loads(out.read_text()) if out.exists() else {}
    result: dict = {**previous, "machine": {"cpu": cpu_name(), "cores": psutil.cpu_count(),
                                "amx": bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()),
                                "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
                                "torch": torch.__version__, "threads": torch.get_num_threads()},
                    "date": time.strftime("%Y-%m-%d %H:%M"), "command": " ".join(sys.argv)}
    if "copy" not in args.skip:
        job, conversations = bench_copy_job(args.copy_items, args.length)
        result["copy_batch_job"] = job
        print(json.dumps(job), flush=True)
        peer = bench_llama_copy(conversations, args.length, args.llama_copy_items)
        result["copy_llama_cpp_single_stream"] = peer
        result["copy_speedup"] = round(job["tokens_per_s"] / peer["tokens_per_s"], 2)
        print(json.dumps(peer), flush=True)
    if "sentiment" not in args.skip:
        rows = sample_rows(DATA / "sentiment" / "test.jsonl", args.reviews, seed=1)
        runs = []
        for measure in (lambda: bench_scoring(DEFAULT, rows, "sentiment", compare_prefix_reuse=True),
                        lambda: bench_scoring(FAST, rows, "sentiment"), lambda: [bench_llama_sentiment(rows)]):
            for run in measure():
                runs.append(run)
                print(json.dumps(run, ensure_ascii=False), flush=True)
        snow = evaluate_snownlp(rows)
        runs.append({"model": "SnowNLP", "reviews_per_s": snow["items_per_s"], "accuracy": snow["accuracy"]})
        result["sentiment"] = {"reviews": len(rows), "runs": runs}
        llama_cpp = next(r for r in runs if "llama.cpp" in r["model"])
        result["sentiment_speedup_vs_llama_cpp"] = round(runs[0]["reviews_per_s"] / llama_cpp["reviews_per_s"], 2)
        result["sentiment_prefix_reuse_speedup"] = round(runs[0]["reviews_per_s"] / runs[1]["reviews_per_s"], 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
