"""Train the sentiment head: multinomial logistic regression over hidden states (`finetune/features.py`).

Settings (weight decay) are chosen on dev; the temperature is fitted on dev so the probabilities are
calibrated; test is read once, for the figures.

    python -m finetune.sentiment_head --sets ~/.cache/contentgen/sentiment_sets \
        --features ~/.cache/contentgen/features/qwen2.5-coder-1.5b/base --out adapters/qwen2.5-coder-1.5b/sentiment-head
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from contentgen.tasks.sentiment.head import Head
from finetune.features import load_features
from contentgen.evaluation.metrics import classification_scores

LABELS = ("positive", "neutral", "negative")
DECAYS = (1e-2, 3e-2, 1e-1, 3e-1, 1.0)
# Neutral takes reviews that lean one way; the issue wants neutral recall >= 60% with positive and
# negative close to the two-class figures. The neutral bias is lowered while dev neutral recall stays
# above this margin.
NEUTRAL_RECALL_FLOOR = 65.0
OFFSETS = tuple(np.round(np.arange(0.0, -3.01, -0.25), 2))


def load_split(sets: Path, features: Path, split: str) -> tuple[list[dict], np.ndarray]:
    rows = {r["id"]: r for r in (json.loads(line) for line in open(sets / f"{split}.jsonl", encoding="utf-8"))}
    ids, x = load_features(features / split)
    return [rows[i] for i in ids], x.astype(np.float32)


def fit(x: np.ndarray, y: np.ndarray, decay: float, steps: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced softmax regression on standardised features (L-BFGS)."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    counts = torch.bincount(yt, minlength=len(LABELS)).float()
    weights = counts.sum() / (len(LABELS) * counts.clamp(min=1))
    layer = torch.nn.Linear(x.shape[1], len(LABELS))
    optimiser = torch.optim.LBFGS(layer.parameters(), max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(xt), yt, weight=weights) + decay * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return layer.weight.detach().numpy(), layer.bias.detach().numpy()


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the dev set's negative log-likelihood."""
    best = min(np.geomspace(0.05, 20.0, 241), key=lambda t: nll(logits / t, y))
    return float(best)


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def report(head: Head, rows: list[dict], x: np.ndarray, texts: list[str] | None = None) -> dict:
    """Three-class accuracy, neutral recall, per source; and the binary figure on the reviews (positive
    or negative rows, the larger of the two probabilities), as the two-class benchmarks count it.
    `texts`: for the head's n-gram scorer, if it has one."""
    probs = head.probabilities(x, texts)
    predicted = [head.labels[i] for i in probs.argmax(axis=1)]
    gold = [r["label"] for r in rows]
    out = {"items": len(rows), **classification_scores(predicted, gold)}
    for label in LABELS:
        picked = [p for p, g in zip(predicted, gold) if g == label]
        out[f"recall_{label}"] = round(100 * sum(p == label for p in picked) / max(len(picked), 1), 2)
    pos, neg = head.labels.index("positive"), head.labels.index("negative")
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    binary: dict[str, list[bool]] = defaultdict(list)
    for row, p, probs_row in zip(rows, predicted, probs):
        by_source[row["source"]].append((p, row["label"]))
        if row["label"] in ("positive", "negative"):
            two = "positive" if probs_row[pos] >= probs_row[neg] else "negative"
            binary[row["source"]].append(two == row["label"])
    out["by_source"] = {s: {"items": len(v), "accuracy": round(100 * sum(p == g for p, g in v) / len(v), 2)}
                        for s, v in sorted(by_source.items())}
    out["binary_accuracy"] = {s: round(100 * sum(v) / len(v), 2) for s, v in sorted(binary.items())}
    out["confusion"] = {g: dict(Counter(p for p, gg in zip(predicted, gold) if gg == g)) for g in LABELS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="训练情感分类头（隐藏状态上的逻辑回归）")
    parser.add_argument("--sets", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-test", action="store_true", help="只在开发集上选参数，不读测试集")
    args = parser.parse_args()
    sets, features = Path(args.sets).expanduser(), Path(args.features).expanduser()
    train_rows, x_train = load_split(sets, features, "train")
    dev_rows, x_dev = load_split(sets, features, "dev")
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1e-4
    standard = lambda x: (x - mean) / scale  # noqa: E731
    y_train = np.array([LABELS.index(r["label"]) for r in train_rows])
    y_dev = np.array([LABELS.index(r["label"]) for r in dev_rows])
    trials = []
    for decay in DECAYS:
        weight, bias = fit(standard(x_train), y_train, decay)
        head = Head(LABELS, weight, bias, mean, scale)
        dev = report(head, dev_rows, x_dev)
        trials.append((dev["macro_f1"], decay, weight, bias, dev))
        print(f"decay {decay:g}: dev {json.dumps({k: dev[k] for k in ('accuracy', 'macro_f1', 'recall_neutral')})}",
              flush=True)
    _, decay, weight, bias, _ = max(trials, key=lambda t: t[0])
    offset = 0.0
    for candidate in OFFSETS:
        shifted = bias + np.array([0.0, candidate, 0.0], dtype=np.float32)
        if report(Head(LABELS, weight, shifted, mean, scale), dev_rows, x_dev)["recall_neutral"] < NEUTRAL_RECALL_FLOOR:
            break
        offset = float(candidate)
    bias = bias + np.array([0.0, offset, 0.0], dtype=np.float32)
    logits = standard(x_dev) @ weight.T + bias
    temperature = fit_temperature(logits, y_dev)
    head = Head(LABELS, weight, bias, mean, scale, temperature,
                {"task": "sentiment", "feature": "hidden state at the end of the sentiment prompt, base model",
                 "weight_decay": decay, "neutral_offset": offset, "train_rows": len(train_rows),
                 "dev_rows": len(dev_rows)})
    results = {"decay": decay, "neutral_offset": offset, "temperature": temperature, "dev": report(head, dev_rows, x_dev),
               "trials": {f"{t[1]:g}": {k: t[4][k] for k in ("accuracy", "macro_f1", "recall_neutral")} for t in trials}}
    if not args.no_test:
        test_rows, x_test = load_split(sets, features, "test")
        results["test"] = report(head, test_rows, x_test)
    out = Path(args.out)
    head.save(out)
    (out / "metrics.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
