"""Single-stream decode: the llama.cpp engine (base and with the copy adapter) against raw
llama-cpp-python on the same GGUF (without and with the same LoRA file), in alternating rounds
in one process, so the machine's drift hits every side alike. Medians are reported.

    .venv/bin/python bench/bench_single_stream.py [--rounds 6] [--tokens 64]

Greedy, no penalties on either side, a 篇幅 中 电商详情 copy prompt; prefill excluded (ours:
a 1-token run is subtracted; raw: timed from its first streamed token).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_engines import cpu_model, has_amx, others_running  # noqa: E402


def main() -> None:
    from llama_cpp import Llama

    from contentgen.config import GenerationParams, ModelConfig
    from contentgen.runtime import build_engine
    from contentgen.tasks import CopyRequest, get_task

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "single_stream.json")
    args = parser.parse_args()
    started_with = others_running()
    engine = build_engine(ModelConfig(name_or_path="qwen2.5-coder-1.5b", backend="llamacpp"))
    lora = glob.glob(str(engine.cache_dir / "converted" / "lora" / "copy-*.gguf"))[0]
    raw = Llama(model_path=str(engine.gguf_path), n_ctx=4096, n_threads=os.cpu_count(), verbose=False)
    raw_lora = Llama(model_path=str(engine.gguf_path), n_ctx=4096, n_threads=os.cpu_count(), verbose=False,
                     lora_path=lora)
    conversation = get_task("copy").conversation(
        CopyRequest(product="保温杯", points=("316不锈钢", "12小时保温"), platform="电商详情", length="中"))
    prompt = engine.prompts.render(conversation)

    def greedy(tokens: int) -> GenerationParams:
        return GenerationParams(max_new_tokens=tokens, do_sample=False, repetition_penalty=1.0, no_repeat_ngram_size=0)

    def ours(adapter: str | None) -> float:
        engine.generate([conversation], greedy(1), adapter)
        begin = time.perf_counter()
        engine.generate([conversation], greedy(1), adapter)
        prefill = time.perf_counter() - begin
        begin = time.perf_counter()
        [answer] = engine.generate([conversation], greedy(args.tokens + 1), adapter)
        return (answer.completion_tokens - 1) / (time.perf_counter() - begin - prefill)

    def peer(llm) -> float:  # noqa: ANN001
        count, first = 0, None
        for _chunk in llm.create_completion(prompt, max_tokens=args.tokens + 1, temperature=0, stream=True):
            count += 1
            first = first or time.perf_counter()
        return (count - 1) / (time.perf_counter() - first)

    sides = {"engine, base": lambda: ours(None), "engine, copy adapter": lambda: ours("copy"),
             "raw llama-cpp-python": lambda: peer(raw), "raw llama-cpp-python + the same LoRA": lambda: peer(raw_lora)}
    rounds: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, run in sides.items():
            rounds[name].append(round(run(), 1))
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    report = {"command": " ".join(["python", "bench/bench_single_stream.py", *sys.argv[1:]]), "cpu": cpu_model(),
              "amx": has_amx(), "others_running_at_start": started_with, "tokens_per_s": rounds,
              "medians": medians,
              "ratios": {"engine with adapter / raw": round(medians["engine, copy adapter"] / medians["raw llama-cpp-python"], 2),
                         "engine with adapter / raw with LoRA": round(
                             medians["engine, copy adapter"] / medians["raw llama-cpp-python + the same LoRA"], 2),
                         "engine base / raw": round(medians["engine, base"] / medians["raw llama-cpp-python"], 2)}}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("cpu", "medians", "ratios")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
