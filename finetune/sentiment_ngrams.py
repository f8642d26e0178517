"""Give the sentiment head a character n-gram scorer trained on every review of `sentiment/train.jsonl`.

The head reads a hidden state that costs a second of CPU per text, so it was trained on 5,052 rows; a
logistic regression over character n-grams learns from all 71k reviews in about a minute, and its errors
are not the head's. Its positive-vs-negative log-odds are added to the head's logits with a weight chosen
on dev (with the smallest neutral bias that keeps neutral recall at the head's floor), then the temperature is
fitted again on dev. Test is read once, for the figures.

    python -m finetune.sentiment_ngrams --train ../shared/data/sentiment/train.jsonl \
        --sets ~/.cache/contentgen/sentiment_sets --features ~/.cache/contentgen/features/qwen2.5-coder-1.5b/base \
        --head adapters/qwen2.5-coder-1.5b/sentiment-head
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression

from contentgen.tasks.sentiment.head import Head, NgramScorer, char_ngram_vectorizer
from contentgen.training.data import read_rows
from finetune.sentiment_head import LABELS, NEUTRAL_RECALL_FLOOR, fit_temperature, load_split, report

N_FEATURES = 2 ** 21  # ~540k distinct 1-3 character n-grams in the 71k reviews: few collisions
NGRAM_RANGE = (1, 3)
STRENGTHS = (3.0, 10.0, 30.0)  # logistic regression C, chosen on the binary dev file
WEIGHTS = tuple(np.round(np.arange(0.0, 4.01, 0.25), 2))
NEUTRAL_SHIFTS = tuple(np.round(np.arange(0.0, 1.51, 0.25), 2))


def train_scorers(texts: list[str], labels: list[str], strengths: tuple[float, ...]) -> dict[float, NgramScorer]:
    """One scorer per regularisation strength, positive vs negative (other labels are left out); the
    texts are counted once for all of them."""
    pairs = [(t, label) for t, label in zip(texts, labels) if label in ("positive", "negative")]
    counts = char_ngram_vectorizer(N_FEATURES, NGRAM_RANGE).transform([t for t, _ in pairs])
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    weighted = tfidf.transform(counts)
    positive = [label == "positive" for _, label in pairs]
    seen = np.unique(counts.indices)
    unseen_idf = float(np.log(1 + counts.shape[0]) + 1)  # smooth idf with a document frequency of 0
    scorers = {}
    for strength in strengths:
        model = LogisticRegression(C=strength, solver="liblinear", max_iter=3000).fit(weighted, positive)
        scorers[strength] = NgramScorer(N_FEATURES, NGRAM_RANGE, seen, tfidf.idf_[seen], unseen_idf,
                                        model.coef_[0][seen], float(model.intercept_[0]))
    return scorers


def neutral_mask(head: Head) -> np.ndarray:
    """1 at the neutral label: what the neutral shift is added to."""
    return np.array([label == "neutral" for label in head.labels], dtype=np.float32)


def head_alone(head: Head) -> Head:
    """The head as `finetune.sentiment_head` wrote it, if a scorer was added before (a second run)."""
    if head.ngrams is None:
        return head
    info = dict(head.info or {})
    shift = info.pop("neutral_shift", 0.0)
    temperature = info.pop("head_temperature", head.temperature)
    for key in ("ngram_strength", "ngram_train_rows"):
        info.pop(key, None)
    return replace(head, ngrams=None, ngram_weight=0.0, bias=head.bias - shift * neutral_mask(head),
                   temperature=temperature, info=info)


def binary_accuracy(scorer: NgramScorer, rows: list[dict]) -> float:
    rows = [r for r in rows if r["label"] in ("positive", "negative")]
    odds = scorer.log_odds([r["text"] for r in rows])
    return round(100 * float(np.mean([(o > 0) == (r["label"] == "positive") for o, r in zip(odds, rows)])), 2)


def combine(head: Head, scorer: NgramScorer, dev_rows: list[dict], x_dev: np.ndarray) -> tuple[Head, dict]:
    """For each weight, the smallest neutral shift that keeps dev neutral recall at the floor (neutral
    takes no more reviews than the floor needs: a larger shift raises macro-F1 on dev by moving leaning
    reviews to neutral, which costs the positive and negative accuracy the issue wants kept); the weight
    with the best dev macro-F1; then the temperature refitted on the combined logits."""
    texts = [r["text"] for r in dev_rows]
    y_dev = np.array([LABELS.index(r["label"]) for r in dev_rows])
    neutral = neutral_mask(head)
    trials = []
    for weight in WEIGHTS:
        for shift in NEUTRAL_SHIFTS:
            candidate = replace(head, ngrams=scorer, ngram_weight=float(weight), bias=head.bias + shift * neutral)
            dev = report(candidate, dev_rows, x_dev, texts)
            trials.append({"weight": float(weight), "neutral_shift": float(shift),
                           **{k: dev[k] for k in ("accuracy", "macro_f1", "recall_neutral")}})
            if dev["recall_neutral"] >= NEUTRAL_RECALL_FLOOR:
                break
    allowed = [t for t in trials if t["recall_neutral"] >= NEUTRAL_RECALL_FLOOR] or trials
    best = max(allowed, key=lambda t: (t["macro_f1"], -t["weight"]))
    combined = replace(head, ngrams=scorer, ngram_weight=best["weight"],
                       bias=head.bias + best["neutral_shift"] * neutral, temperature=1.0)
    combined.temperature = fit_temperature(combined.logits(x_dev, texts), y_dev)
    return combined, {"chosen": best, "trials": trials}


def main() -> None:
    parser = argparse.ArgumentParser(description="为情感分类头训练字符 n-gram 打分器，并在开发集上选权重")
    parser.add_argument("--train", required=True, help="sentiment/train.jsonl：打分器的训练数据")
    parser.add_argument("--binary-dev", help="选正则强度用的二分类开发集（默认：与 --train 同目录的 dev.jsonl）")
    parser.add_argument("--sets", required=True, help="finetune.sentiment_sets 的输出目录（dev 选权重，test 出数字）")
    parser.add_argument("--features", required=True, help="finetune.features 的输出目录（含 dev，及 test）")
    parser.add_argument("--head", required=True, help="已训练的分类头目录；打分器写入这里")
    parser.add_argument("--no-test", action="store_true", help="只在开发集上选参数，不读测试集")
    parser.add_argument("--keep-scorer", action="store_true",
                        help="沿用分类头里已有的打分器，只重新选权重和中性偏置（不重新训练，结果可复现）")
    args = parser.parse_args()
    train_path = Path(args.train).expanduser()
    binary_dev = read_rows(Path(args.binary_dev).expanduser() if args.binary_dev else train_path.with_name("dev.jsonl"))
    head_dir, sets, features = (Path(p).expanduser() for p in (args.head, args.sets, args.features))
    shipped = Head.load(head_dir)
    head = head_alone(shipped)
    if args.keep_scorer and shipped.ngrams is not None:
        # liblinear shuffles as it trains, so a retrained scorer differs in the fourth decimal: keep the committed one.
        strength, scorer, train_rows = shipped.info["ngram_strength"], shipped.ngrams, shipped.info["ngram_train_rows"]
        scorers = {strength: (binary_accuracy(scorer, binary_dev), scorer)}
    else:
        train = read_rows(train_path)
        train_rows = len(train)
        scorers = {}
        for strength, scorer in train_scorers([r["text"] for r in train], [r["label"] for r in train], STRENGTHS).items():
            scorers[strength] = (binary_accuracy(scorer, binary_dev), scorer)
            print(f"C={strength:g}: binary dev accuracy {scorers[strength][0]}", flush=True)
        strength = max(scorers, key=lambda c: scorers[c][0])
        scorer = scorers[strength][1]
    dev_rows, x_dev = load_split(sets, features, "dev")
    before = report(head, dev_rows, x_dev)
    combined, choice = combine(head, scorer, dev_rows, x_dev)
    combined.info = {**(head.info or {}), "ngram_strength": strength, "ngram_train_rows": train_rows,
                     "neutral_shift": choice["chosen"]["neutral_shift"], "head_temperature": head.temperature}
    texts = [r["text"] for r in dev_rows]
    results = {"strength": strength, "binary_dev_accuracy": {f"{c:g}": a for c, (a, _) in scorers.items()},
               "chosen": choice["chosen"], "temperature": combined.temperature,
               "dev_head_alone": before, "dev": report(combined, dev_rows, x_dev, texts), "trials": choice["trials"]}
    if not args.no_test:
        test_rows, x_test = load_split(sets, features, "test")
        results["test_head_alone"] = report(head, test_rows, x_test)
        results["test"] = report(combined, test_rows, x_test, [r["text"] for r in test_rows])
    combined.save(head_dir)
    (head_dir / "ngrams_metrics.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "trials"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
