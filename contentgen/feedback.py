"""Turn rated and edited outputs into fine-tuning data in the format finetune/ reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contentgen.inputs import write_jsonl
from db.history import HistoryStore

# An edited sentiment label may be typed in English or Chinese.
SENTIMENT_LABELS = {"positive": "positive", "neutral": "neutral", "negative": "negative",
                    "正面": "positive", "中性": "neutral", "负面": "negative"}


def training_row(task: str, inputs: dict[str, Any], text: str) -> dict[str, Any]:
    if task == "copy":
        return {"product": inputs.get("product", ""), "points": ",".join(inputs.get("points", [])),
                "content": inputs.get("attributes", ""), "platform": inputs.get("platform", ""),
                "tone": inputs.get("tone", ""), "length": inputs.get("length", ""), "copy": text}
    if task == "reply":
        return {"message": inputs.get("message", ""), "context": inputs.get("context", []),
                "order": inputs.get("order", ""), "reply": text}
    if task == "sentiment":
        label = text.strip()
        label = SENTIMENT_LABELS.get(label, label)
        return {"text": inputs.get("text", ""), "label": label}
    raise ValueError(task)


def export_dataset(store: HistoryStore, task: str, out: Path) -> int:
    """Edited outputs (the edit is the target) and 👍 outputs; 👎 without an edit is left out."""
    rows = []
    for request, result in store.feedback(task):
        if result.edited_text is not None and result.edited_text.strip():
            target = result.edited_text
        elif result.rating == 1:
            target = result.label if task == "sentiment" else result.text
        else:
            continue
        rows.append(training_row(task, request.inputs, target))
    write_jsonl(out, rows)
    return len(rows)
