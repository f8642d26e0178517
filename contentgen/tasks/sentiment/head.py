"""Classification heads: a linear layer over the model's hidden state at the end of a task's prompt
(`Engine.hidden_states`). One forward pass per text, no label words, and a real neutral class with
probabilities that can be calibrated, which label scoring on a LoRA adapter never gave (neutral
0.001-0.002 on “东西还行吧，一般般”).

A head may carry a character n-gram scorer over the text itself (`NgramScorer`, trained on every
review of the training file in about a minute, where the hidden states cost a second per text): its
positive-vs-negative log-odds are added to the head's logits, with a weight chosen on dev.

Shipped heads: `adapters/<base model>/<task>-head/` (head.safetensors, head.json, README.md,
and ngrams.safetensors when it has a scorer); a user's own under `<cache dir>/adapters/<base model>/`,
like adapters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from contentgen.adapters import SHIPPED_DIR, base_key, user_adapter_dir
from contentgen.config import ModelConfig

WEIGHTS = "head.safetensors"
SETTINGS = "head.json"
NGRAM_WEIGHTS = "ngrams.safetensors"


def char_ngram_vectorizer(n_features: int, ngram_range: tuple[int, int]):  # noqa: ANN201
    """Counts of hashed character n-grams: what the scorer is trained on and reads (one definition, so the
    two cannot drift). scikit-learn loads only when a head has a scorer."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char", ngram_range=tuple(ngram_range), n_features=n_features,
                             alternate_sign=False, norm=None)


@dataclass
class NgramScorer:
    """Logistic regression over hashed character n-grams, TF-IDF weighted (sublinear tf, L2 norm), as
    scikit-learn's HashingVectorizer + TfidfTransformer + LogisticRegression compute it; stored sparse:
    only the buckets seen in training carry a weight and their own idf."""
    n_features: int
    ngram_range: tuple[int, int]
    buckets: np.ndarray    # int64, the buckets seen in training
    idf: np.ndarray        # idf of those buckets
    unseen_idf: float      # a bucket never seen still counts in the norm, with the largest idf
    coef: np.ndarray       # weight of those buckets; > 0 leans positive
    intercept: float

    def log_odds(self, texts: list[str]) -> np.ndarray:
        """log P(positive) / P(negative) for each text."""
        from sklearn.preprocessing import normalize

        counts = char_ngram_vectorizer(self.n_features, self.ngram_range).transform(texts).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        idf, coef = self.dense
        return normalize(counts.multiply(idf).tocsr()) @ coef + self.intercept

    @cached_property
    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """idf and weight of every bucket (built once: 32 MB, where each request would rebuild them)."""
        idf = np.full(self.n_features, self.unseen_idf)
        idf[self.buckets] = self.idf
        coef = np.zeros(self.n_features)
        coef[self.buckets] = self.coef
        return idf, coef

    def save(self, path: Path) -> dict:
        save_file({"buckets": self.buckets.astype(np.int32), "idf": self.idf.astype(np.float32),
                   "coef": self.coef.astype(np.float32)}, str(path / NGRAM_WEIGHTS))
        return {"n_features": self.n_features, "ngram_range": list(self.ngram_range),
                "unseen_idf": self.unseen_idf, "intercept": self.intercept}

    @classmethod
    def load(cls, path: Path, settings: dict) -> NgramScorer:
        tensors = load_file(str(path / NGRAM_WEIGHTS))
        return cls(int(settings["n_features"]), tuple(settings["ngram_range"]), tensors["buckets"].astype(np.int64),
                   tensors["idf"], float(settings["unseen_idf"]), tensors["coef"], float(settings["intercept"]))


@dataclass
class Head:
    labels: tuple[str, ...]
    weight: np.ndarray     # [labels, hidden]
    bias: np.ndarray       # [labels]
    mean: np.ndarray       # features are standardised with the training set's mean and scale
    scale: np.ndarray
    temperature: float = 1.0  # fitted on the dev set, so a probability of 0.8 is right 8 times in 10
    info: dict | None = None
    ngrams: NgramScorer | None = None
    ngram_weight: float = 0.0  # half of it times the scorer's log-odds goes to positive, half against negative

    def logits(self, features: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """Before the temperature. `texts`: the texts themselves, for the n-gram scorer if there is one."""
        logits = ((features - self.mean) / self.scale) @ self.weight.T + self.bias
        if self.ngrams is not None and self.ngram_weight and texts is not None:
            if len(texts) != len(features):
                raise ValueError("texts and features differ in length")
            lean = np.array([{"positive": 0.5, "negative": -0.5}.get(label, 0.0) for label in self.labels])
            logits = logits + self.ngram_weight * np.outer(self.ngrams.log_odds(list(texts)), lean)
        return logits

    def probabilities(self, features: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        logits = self.logits(features, texts) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        save_file({"weight": self.weight.astype(np.float32), "bias": self.bias.astype(np.float32),
                   "mean": self.mean.astype(np.float32), "scale": self.scale.astype(np.float32)},
                  str(path / WEIGHTS))
        settings = {"labels": list(self.labels), "temperature": self.temperature, **(self.info or {})}
        if self.ngrams is not None:
            settings["ngrams"] = {**self.ngrams.save(path), "weight": self.ngram_weight}
        (path / SETTINGS).write_text(json.dumps(settings, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Head:
        tensors = load_file(str(Path(path) / WEIGHTS))
        settings = json.loads((Path(path) / SETTINGS).read_text(encoding="utf-8"))
        info = {k: v for k, v in settings.items() if k not in ("labels", "temperature", "ngrams")}
        ngrams = settings.get("ngrams")
        return cls(tuple(settings["labels"]), tensors["weight"], tensors["bias"], tensors["mean"], tensors["scale"],
                   float(settings.get("temperature", 1.0)), info,
                   NgramScorer.load(Path(path), ngrams) if ngrams else None, float(ngrams["weight"]) if ngrams else 0.0)


def head_dir_name(task: str) -> str:
    return f"{task}-head"


def find_head(config: ModelConfig, task: str) -> Path | None:
    """The head for this base model and task: a user's own before the shipped one."""
    for root in (user_adapter_dir(config), SHIPPED_DIR / base_key(config)):
        candidate = root / head_dir_name(task)
        if (candidate / WEIGHTS).is_file() and (candidate / SETTINGS).is_file():
            return candidate
    return None
