"""The model's hidden state at the end of the sentiment prompt, for every row of a JSONL file: what
the sentiment head (`finetune/sentiment_head.py`) learns from. Written in shards; run it again and
it carries on after the last finished shard (a long extraction spans sessions).

    python -m finetune.features --data ~/.cache/contentgen/sentiment_sets/train.jsonl \
        --out ~/.cache/contentgen/features/qwen2.5-coder-1.5b/train
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from contentgen.tasks import get_task
from contentgen.tasks.sentiment.task import TagRequest

SHARD_ROWS = 128


def shard_path(out: Path, number: int) -> Path:
    return out / f"shard_{number:05d}.npz"


def load_features(out: Path) -> tuple[list[str], np.ndarray]:
    """Row ids and features of every finished shard, in row order."""
    ids: list[str] = []
    blocks = []
    for path in sorted(Path(out).glob("shard_*.npz")):
        with np.load(path) as shard:
            ids += [str(i) for i in shard["ids"]]
            blocks.append(shard["features"])
    return ids, (np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32))


def extract(engine, rows: list[dict], out: Path, adapter: str | None = None,  # noqa: ANN001
            shard_rows: int = SHARD_ROWS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    spec = get_task("sentiment")
    shards = range(0, len(rows), shard_rows)
    for number, start in enumerate(tqdm(shards, desc="特征", unit="片")):
        path = shard_path(out, number)
        if path.exists():
            continue
        chunk = rows[start:start + shard_rows]
        features = engine.hidden_states([spec.conversation(TagRequest(text=r["text"])) for r in chunk], adapter=adapter)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, ids=np.array([r["id"] for r in chunk]), features=features.astype(np.float16))
        partial.rename(path)  # a shard is there whole or not at all


def main() -> None:
    from contentgen.config import load_settings
    from contentgen.runtime import build_engine

    parser = argparse.ArgumentParser(description="情感提示末尾的隐藏状态（分片保存，可续跑）")
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--adapter-path", help="在此 LoRA 适配器上取特征（默认：基座模型）")
    args = parser.parse_args()
    rows = [json.loads(line) for line in open(Path(args.data).expanduser(), encoding="utf-8") if line.strip()]
    engine = build_engine(load_settings().model)
    adapter = None
    if args.adapter_path:
        adapter = Path(args.adapter_path).name
        engine.load_adapter(adapter, args.adapter_path)
    extract(engine, rows, Path(args.out).expanduser(), adapter=adapter)


if __name__ == "__main__":
    main()
