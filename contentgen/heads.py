"""Classification heads: a linear layer over the model's hidden state at the end of a task's prompt
(`Engine.hidden_states`). One forward pass per text, no label words, and a real neutral class with
probabilities that can be calibrated, which label scoring on a LoRA adapter never gave (neutral
0.001-0.002 on “东西还行吧，一般般”).

Shipped heads: `adapters/<base model>/<task>-head/` (head.safetensors, head.json, README.md);
a user's own under `<cache dir>/adapters/<base model>/`, like adapters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from contentgen.adapters import SHIPPED_DIR, base_key, user_adapter_dir
from contentgen.config import ModelConfig

WEIGHTS = "head.safetensors"
SETTINGS = "head.json"


@dataclass
class Head:
    labels: tuple[str, ...]
    weight: np.ndarray     # [labels, hidden]
    bias: np.ndarray       # [labels]
    mean: np.ndarray       # features are standardised with the training set's mean and scale
    scale: np.ndarray
    temperature: float = 1.0  # fitted on the dev set, so a probability of 0.8 is right 8 times in 10
    info: dict | None = None

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = ((features - self.mean) / self.scale) @ self.weight.T + self.bias
        logits = logits / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        save_file({"weight": self.weight.astype(np.float32), "bias": self.bias.astype(np.float32),
                   "mean": self.mean.astype(np.float32), "scale": self.scale.astype(np.float32)},
                  str(path / WEIGHTS))
        settings = {"labels": list(self.labels), "temperature": self.temperature, **(self.info or {})}
        (path / SETTINGS).write_text(json.dumps(settings, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Head:
        tensors = load_file(str(Path(path) / WEIGHTS))
        settings = json.loads((Path(path) / SETTINGS).read_text(encoding="utf-8"))
        info = {k: v for k, v in settings.items() if k not in ("labels", "temperature")}
        return cls(tuple(settings["labels"]), tensors["weight"], tensors["bias"], tensors["mean"], tensors["scale"],
                   float(settings.get("temperature", 1.0)), info)


def head_dir_name(task: str) -> str:
    return f"{task}-head"


def find_head(config: ModelConfig, task: str) -> Path | None:
    """The head for this base model and task: a user's own before the shipped one."""
    for root in (user_adapter_dir(config), SHIPPED_DIR / base_key(config)):
        candidate = root / head_dir_name(task)
        if (candidate / WEIGHTS).is_file() and (candidate / SETTINGS).is_file():
            return candidate
    return None
