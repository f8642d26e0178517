"""The in-process engines side by side on this machine, against raw llama-cpp-python.

    .venv/bin/python bench/bench_engines.py [--model qwen2.5-coder-1.5b] [--batch-rows 64]

Measures, in one run: memory bandwidth (a large copy), the bytes of weights read per decoded
token for each weight format, and for each engine (each in its own process, one after the
other, so RSS is its own and no two torch jobs overlap): time to first piece of a copy version
(prompt start cold and cached), decode tokens/s at batch 1, 4 and 16, seconds for one and for
three 篇幅 中 copy versions, batch copy aggregate tokens/s, sentiment reviews/s, peak RSS, and
the share of the bandwidth limit decode at batch 1 reaches. The peer, raw llama-cpp-python on
the same GGUF: single-stream decode and single-prompt classification.
Writes bench/results/engines_<cpu>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
PRODUCTS = [
    ("无线降噪耳机", ("40dB主动降噪", "30小时续航", "蓝牙5.3")),
    ("便携榨汁杯", ("USB充电", "300ml", "一键清洗")),
    ("轻薄羽绒服", ("90%白鸭绒", "可收纳", "防泼水")),
    ("保温杯", ("316不锈钢", "12小时保温")),
    ("空气炸锅", ("5L大容量", "无油少烟")),
    ("儿童书包", ("护脊设计", "轻量")),
    ("蓝牙音箱", ("IPX7防水", "360度环绕声")),
    ("真丝睡衣", ("22姆米桑蚕丝", "亲肤透气")),
]
DECODE_TOKENS = 64


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def has_amx() -> bool:
    return " amx_tile " in f" {Path('/proc/cpuinfo').read_text()} "


def others_running() -> list[str]:
    import psutil

    busy = []
    for proc in psutil.process_iter(["pid", "name", "cpu_percent"]):
        if proc.pid != os.getpid():
            proc.cpu_percent(None)
    time.sleep(1.0)
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            load = proc.cpu_percent(None)
        except psutil.Error:
            continue
        if load >= 5 and proc.pid != os.getpid():
            busy.append(f"{proc.info['name']} ({load:.0f}% CPU)")
    return busy


def memory_bandwidth() -> dict:
    """GB/s of a 1 GiB copy (bytes read + written, as STREAM counts), numpy (1 thread) and torch (all)."""
    import numpy as np
    import torch

    source = np.ones(1 << 28, dtype=np.float32)
    target = np.empty_like(source)
    best_np = min(_timed(lambda: np.copyto(target, source))[1] for _ in range(5))
    a, b = torch.from_numpy(source), torch.from_numpy(target)
    best_torch = min(_timed(lambda: b.copy_(a))[1] for _ in range(5))
    nbytes = 2 * source.nbytes
    return {"numpy_gbs": round(nbytes / best_np / 1e9, 1), "torch_gbs": round(nbytes / best_torch / 1e9, 1),
            "torch_threads": torch.get_num_threads(), "gbs": round(nbytes / min(best_np, best_torch) / 1e9, 1)}


def weight_bytes(model: str) -> dict:
    """Bytes of weights one decode step reads (tied embeddings: the output layer reads them once)."""
    from gguf import GGUFReader

    from contentgen.config import ModelConfig
    from contentgen.models import REGISTRY, converted_dir, find_gguf

    config = ModelConfig(name_or_path=model)
    gguf = find_gguf(config)
    quantized = sum(int(t.n_bytes) for t in GGUFReader(str(gguf)).tensors)
    bf16 = sum(f.stat().st_size for f in converted_dir(REGISTRY[model], Path(config.cache_dir)).glob("*.safetensors"))
    return {"gguf_q4_k_m": quantized, "bf16": bf16}


def _timed(fn):  # noqa: ANN001, ANN202
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def reviews(count: int) -> list[str]:
    rows = [json.loads(line) for line in (DATA / "sentiment" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["text"] for r in rows[:count]]


# ------------------------------------------------------------------ one engine, in its own process
def bench_engine(backend: str, model: str, batch_rows: int, review_count: int) -> dict:
    from contentgen.config import GenerationParams, ModelConfig
    from contentgen.runtime import build_engine
    from contentgen.usecases.service import ContentService
    from contentgen.tasks import CopyRequest, TagRequest, get_task
    from db.database import Database

    out: dict = {"engine": backend}
    engine, load = _timed(lambda: build_engine(ModelConfig(name_or_path=model, backend=backend)))
    out["load_s"] = round(load, 1)
    out["adapters"] = sorted(engine.adapters)
    store = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    service = ContentService(engine, store, user_name="bench", source="api")
    tokens: list[int] = []
    generate = engine.generate

    def counting(conversations, params, adapter=None):  # noqa: ANN001, ANN202
        results = generate(conversations, params, adapter)
        tokens.extend(g.completion_tokens for g in results)
        return results

    engine.generate = counting

    def request(i: int, n: int = 1, length: str = "中") -> CopyRequest:
        product, points = PRODUCTS[i % len(PRODUCTS)]
        return CopyRequest(product=product, points=points, platform="电商详情", length=length, n=n)

    def first_piece(i: int) -> float:
        started = time.perf_counter()
        pieces = iter(service.stream("copy", request(i)))
        next(pieces)
        elapsed = time.perf_counter() - started
        pieces.close()  # stops decoding; the history row records it as cancelled
        return elapsed

    engine.clear_prompt_cache()
    out["first_piece_cold_s"] = round(first_piece(0), 2)
    out["first_piece_cached_s"] = round(min(first_piece(i) for i in (1, 2, 3)), 2)

    spec = get_task("copy")
    conversations = [spec.conversation(request(i)) for i in range(16)]
    adapter = service.resolve_adapter("copy", "auto", request(0))
    out["copy_adapter"] = adapter
    decode: dict[str, float] = {}
    for batch in (1, 4, 16):
        rows = conversations[:batch]
        generate(rows, GenerationParams(max_new_tokens=1, do_sample=False), adapter)  # prompt start cached
        _, prefill = _timed(lambda: generate(rows, GenerationParams(max_new_tokens=1, do_sample=False), adapter))
        results, total = _timed(lambda: generate(rows, GenerationParams(
            max_new_tokens=DECODE_TOKENS + 1, do_sample=False, repetition_penalty=1.1), adapter))
        decoded = sum(g.completion_tokens - 1 for g in results)
        decode[str(batch)] = round(decoded / max(total - prefill, 1e-6), 1)
    out["decode_tokens_per_s"] = decode

    for n in (1, 3):
        tokens.clear()
        result, seconds = _timed(lambda: service.generate("copy", request(4 + n, n=n)))
        out[f"copy_{n}_versions_s"] = round(seconds, 1)
        out[f"copy_{n}_versions_tokens"] = sum(tokens)
        out[f"copy_{n}_versions_sample"] = result.outputs[0][:120]

    tokens.clear()
    requests = [request(i) for i in range(batch_rows)]
    _, seconds = _timed(lambda: service.generate_many("copy", requests))
    out["batch_copy_rows"] = batch_rows
    out["batch_copy_s"] = round(seconds, 1)
    out["batch_copy_tokens_per_s"] = round(sum(tokens) / seconds, 1)

    texts = reviews(review_count)
    service.sentiment.tag(texts[:8])
    _, seconds = _timed(lambda: service.sentiment.tag(texts))
    out["tag_reviews_per_s"] = round(len(texts) / seconds, 2)  # the product: review and its clauses (aspects)
    # Like for like with the peer: one label scoring per review, the sentiment adapter on.
    sentiment = get_task("sentiment")
    prompts = [sentiment.conversation(TagRequest(text=t)) for t in texts]
    words = list(sentiment.label_words.values())
    engine.score_labels(prompts[:8], words, "sentiment" if "sentiment" in engine.adapters else None)
    _, seconds = _timed(lambda: engine.score_labels(prompts, words, "sentiment" if "sentiment" in engine.adapters else None))
    out["reviews_per_s"] = round(len(texts) / seconds, 2)
    out["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    return out


def bench_raw_llama(model: str, review_count: int) -> dict:
    """The peer: llama-cpp-python's own Llama class, one prompt at a time, no adapter."""
    from llama_cpp import Llama

    from contentgen.config import ModelConfig
    from contentgen.models import gguf_and_tokenizer
    from contentgen.tasks import TagRequest, get_task

    gguf, tokenizer, _ = gguf_and_tokenizer(ModelConfig(name_or_path=model))
    llm = Llama(model_path=str(gguf), n_ctx=4096, n_threads=os.cpu_count(), n_batch=512, verbose=False)
    out: dict = {"engine": "llama-cpp-python (raw)"}
    prompt = "<|im_start|>user\n写一段关于保温杯的电商文案。<|im_end|>\n<|im_start|>assistant\n"
    llm.create_completion(prompt, max_tokens=4, temperature=0)
    started = time.perf_counter()
    first = None
    count = 0
    for _chunk in llm.create_completion(prompt, max_tokens=DECODE_TOKENS + 1, temperature=0, stream=True):
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    out["decode_tokens_per_s"] = {"1": round((count - 1) / (end - first), 1)}
    out["short_prompt_tokens_per_s_incl_prefill"] = round(count / (end - started), 1)

    spec = get_task("sentiment")
    label_ids = [tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in ("正面", "负面")]
    prompts = [tokenizer.apply_chat_template(spec.conversation(TagRequest(text=t)), tokenize=False,
                                             add_generation_prompt=True) for t in reviews(review_count)]
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]

    def classify(ids: list[int]) -> None:
        llm.reset()
        llm.eval(ids)
        _ = llm.scores[llm.n_tokens - 1][label_ids]

    for ids in encoded[:4]:
        classify(ids)
    _, seconds = _timed(lambda: [classify(ids) for ids in encoded])
    out["reviews_per_s"] = round(len(encoded) / seconds, 2)
    out["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    return out


def in_subprocess(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"engine": args[1], "error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(report: dict) -> str:
    limit = {"llamacpp": report["limit_tokens_per_s"]["gguf_q4_k_m"],
             "transformers": report["limit_tokens_per_s"]["bf16"],
             "llama-cpp-python (raw)": report["limit_tokens_per_s"]["gguf_q4_k_m"]}
    lines = ["| | " + " | ".join(r["engine"] for r in report["engines"]) + " |",
             "|---|" + "---|" * len(report["engines"])]
    keys = [("load_s", "load, s"), ("first_piece_cold_s", "first piece, prompt start cold, s"),
            ("first_piece_cached_s", "first piece, prompt start cached, s"),
            ("decode_tokens_per_s", "decode tokens/s at batch 1 / 4 / 16"),
            ("bandwidth_share", "batch-1 decode / bandwidth limit"),
            ("copy_1_versions_s", "one 篇幅 中 version, s"), ("copy_3_versions_s", "three versions, s"),
            ("batch_copy_tokens_per_s", "batch copy aggregate tokens/s"),
            ("reviews_per_s", "sentiment reviews/s (one label scoring each)"),
            ("tag_reviews_per_s", "`tag` reviews/s (with aspect clauses)"),
            ("peak_rss_gib", "peak RSS, GiB")]
    for key, title in keys:
        cells = []
        for r in report["engines"]:
            if key == "bandwidth_share":
                rate = r.get("decode_tokens_per_s", {}).get("1")
                cells.append(f"{rate / limit[r['engine']]:.0%}" if rate else "—")
            elif key == "decode_tokens_per_s":
                cells.append(" / ".join(str(v) for v in r.get(key, {}).values()) or "—")
            else:
                cells.append(str(r.get(key, "—")))
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--batch-rows", type=int, default=64)
    parser.add_argument("--reviews", type=int, default=128)
    parser.add_argument("--engines", nargs="+", default=["llamacpp", "transformers", "raw"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "raw":
        print(json.dumps(bench_raw_llama(args.model, args.reviews), ensure_ascii=False))
        return
    if args.worker:
        print(json.dumps(bench_engine(args.worker, args.model, args.batch_rows, args.reviews), ensure_ascii=False))
        return

    report: dict = {"command": " ".join(["python", "bench/bench_engines.py", *sys.argv[1:]]),
                    "cpu": cpu_model(), "amx": has_amx(), "cores": os.cpu_count(),
                    "others_running_at_start": others_running(), "model": args.model}
    report["memory_bandwidth"] = memory_bandwidth()
    report["weight_bytes_per_token"] = weights = weight_bytes(args.model)
    gbs = report["memory_bandwidth"]["gbs"] * 1e9
    report["limit_tokens_per_s"] = {k: round(gbs / v, 1) for k, v in weights.items()}
    common = ["--model", args.model, "--batch-rows", str(args.batch_rows), "--reviews", str(args.reviews)]
    report["engines"] = [in_subprocess(["--worker", engine, *common]) for engine in args.engines]
    slug = "amx" if report["amx"] else "no_amx"
    out = args.out or ROOT / "bench" / "results" / f"engines_{report['cpu'].split()[0].lower()}_{slug}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(table(report))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
