"""Knowledge-base administration: entries added, edited, switched, deleted; unanswered questions."""

from __future__ import annotations

from typing import Any

from contentgen.errors import UserFacingError
from db.database import Database

# ------------------------------------------------------------------ knowledge base (support desk)
FAQ_MAX_CHARS = 2000


def faq_row(entry) -> dict[str, Any]:  # noqa: ANN001  (db.models.FaqEntry)
    return {"id": entry.id, "question": entry.question, "answer": entry.answer, "category": entry.category,
            "enabled": entry.enabled, "direct_answer": entry.direct_answer, "hits": entry.hits}


def _checked_entry(question: str | None, answer: str | None, category: str | None) -> None:
    for label, value in (("问题", question), ("答案", answer)):
        if value is not None and not value.strip():
            raise UserFacingError(f"请填写{label}。")
        if value is not None and len(value) > FAQ_MAX_CHARS:
            raise UserFacingError(f"{label}超过 {FAQ_MAX_CHARS} 字，请精简后再保存。")
    if category is not None and len(category) > 100:
        raise UserFacingError("分类不超过 100 字。")


def add_faq_entry(store: Database, question: str, answer: str, category: str = "", *,
                  direct_answer: bool = False) -> int:
    _checked_entry(question, answer, category)
    return store.faq.create(question.strip(), answer.strip(), (category or "").strip(), direct_answer=direct_answer)


def edit_faq_entry(store: Database, entry_id: int, *, question: str | None = None, answer: str | None = None,
                   category: str | None = None, enabled: bool | None = None, direct_answer: bool | None = None) -> None:
    """Edit, switch on or off, or mark 直接回答 one entry; a Chinese error when there is no such entry."""
    _checked_entry(question, answer, category)
    if not store.faq.update(entry_id, question=question.strip() if question else None,
                            answer=answer.strip() if answer else None, category=category,
                            enabled=enabled, direct_answer=direct_answer):
        raise UserFacingError(f"知识库里没有编号为 {entry_id} 的条目。")


def delete_faq_entry(store: Database, entry_id: int) -> None:
    if not store.faq.delete(entry_id):
        raise UserFacingError(f"知识库里没有编号为 {entry_id} 的条目。")


def unanswered_rows(store: Database) -> list[dict[str, Any]]:
    return [{"id": q.id, "question": q.question, "count": q.count, "last_seen": q.last_seen.isoformat()}
            for q in store.unanswered.list()]


def answer_unanswered(store: Database, question_id: int, answer: str, category: str = "", *,
                      question: str = "", direct_answer: bool = False) -> int:
    """Turn a question no entry answered into a knowledge-base entry (one step); the new entry's id."""
    _checked_entry(question or None, answer, category)
    entry_id = store.unanswered.answer(question_id, answer.strip(), (category or "").strip(), question=question,
                                       direct_answer=direct_answer)
    if entry_id is None:
        raise UserFacingError(f"没有编号为 {question_id} 的待补充问题。")
    return entry_id

