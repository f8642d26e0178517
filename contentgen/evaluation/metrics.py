"""Metrics, computed exactly as the ChatGLM-6B / LLaMA-Factory evaluation does.

BLEU-4: character-level sentence BLEU, NLTK SmoothingFunction().method3, x100.
ROUGE-1/2/L: F-score on jieba-segmented words (rouge-chinese), x100.
Both averaged over items.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

import jieba
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rouge_chinese import Rouge

jieba.setLogLevel(logging.WARNING)


def generation_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    totals = {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0, "bleu-4": 0.0}
    rouge = Rouge()
    smoothing = SmoothingFunction().method3
    for prediction, reference in zip(predictions, references, strict=True):
        hypothesis = list(jieba.cut(prediction))
        reference_words = list(jieba.cut(reference))
        if not " ".join(hypothesis).split() or not " ".join(reference_words).split():
            scores = {"rouge-1": {"f": 0.0}, "rouge-2": {"f": 0.0}, "rouge-l": {"f": 0.0}}
        else:
            scores = rouge.get_scores(" ".join(hypothesis), " ".join(reference_words))[0]
        for key in ("rouge-1", "rouge-2", "rouge-l"):
            totals[key] += round(scores[key]["f"] * 100, 4)
        bleu = sentence_bleu([list(reference)], list(prediction), smoothing_function=smoothing)
        totals["bleu-4"] += round(bleu * 100, 4)
    count = max(len(predictions), 1)
    return {key: round(value / count, 2) for key, value in totals.items()}


def has_repeated_span(text: str, span: int = 4, times: int = 3) -> bool:
    """True when some `span`-character run occurs `times` or more (a loop, not a product name twice)."""
    counts = Counter(text[i : i + span] for i in range(len(text) - span + 1))
    return any(c >= times for s, c in counts.items() if s.strip() and not s.isdigit())


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct character n-grams over all n-grams, across all outputs."""
    grams = [t[i : i + n] for t in texts for i in range(len(t) - n + 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def repetition_scores(predictions: Sequence[str]) -> dict[str, float]:
    count = max(len(predictions), 1)
    return {
        "repeated_span_share": round(sum(has_repeated_span(p) for p in predictions) / count, 4),
        "distinct_2": distinct_n(predictions, 2),
        "unk_share": round(sum("<UNK>" in p for p in predictions) / count, 4),
        "empty_share": round(sum(not p.strip() for p in predictions) / count, 4),
    }


def classification_scores(predicted: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    labels = sorted(set(gold))
    f1s = []
    for label in labels:
        tp = sum(p == label and g == label for p, g in zip(predicted, gold))
        fp = sum(p == label and g != label for p, g in zip(predicted, gold))
        fn = sum(p != label and g == label for p, g in zip(predicted, gold))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    accuracy = sum(p == g for p, g in zip(predicted, gold)) / max(len(gold), 1)
    return {"accuracy": round(accuracy * 100, 2), "macro_f1": round(sum(f1s) / max(len(f1s), 1) * 100, 2)}
