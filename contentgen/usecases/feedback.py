"""Feedback on outputs: a rating or an edit from any face (only on the user's own outputs, or any for an
admin), and rated and edited outputs turned into fine-tuning rows."""

from __future__ import annotations

from pathlib import Path

from contentgen.errors import NotFound, UserFacingError
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


def give_feedback(store: Database, result_id: int, *, rating: int | None = None, edited_text: str | None = None,
                  user_name: str | None = None) -> None:
    """👍 (1), 👎 (-1) or an edit on one output. `user_name`: the caller, who may only rate their own
    outputs (None: an admin or the single local user). A Chinese error for a result that is not there."""
    owner = store.feedback.owner(result_id)
    if owner is None or (user_name is not None and owner != user_name):
        raise NotFound(f"没有编号为 {result_id} 的结果。")
    if rating is None and edited_text is None:
        raise UserFacingError("请提供评价（1 或 -1）或修改后的文本。")
    store.feedback.set(result_id, rating=rating, edited_text=edited_text)
