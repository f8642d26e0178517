"""Turn rated and edited outputs into fine-tuning data in the format finetune/ reads."""

from __future__ import annotations

from pathlib import Path

from contentgen.inputs import write_jsonl
from contentgen.tasks import get_task
from db.database import Database


def export_dataset(store: Database, task: str, out: Path) -> int:
    """Edited outputs (the edit is the target) and 👍 outputs; 👎 without an edit is left out."""
    spec = get_task(task)
    if spec.feedback_row is None:
        raise ValueError(task)
    rows = []
    for request, result in store.feedback.rated(task):
        if result.edited_text is not None and result.edited_text.strip():
            target = result.edited_text
        elif result.rating == 1:
            target = result.label or result.text
        else:
            continue
        rows.append(spec.feedback_row(request.inputs, target))
    write_jsonl(out, rows)
    return len(rows)
