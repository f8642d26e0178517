"""The history store: record every request with its results; list and search them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from db.models import BatchItem, Brand, FaqEntry, Request, Result, utcnow
from db.search import query_words, search_text
from db.session import create_db_engine, migrate, session_factory


class ItemAlreadyDone(Exception):
    """A batch row was finished by another worker; its duplicate was not written."""


@dataclass(frozen=True)
class BatchItemRef:
    job_id: str
    row_index: int
    output: dict[str, Any]


@dataclass(frozen=True)
class ResultRecord:
    text: str = ""
    label: str | None = None
    confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    aspects: list[dict[str, Any]] | None = None


class HistoryStore:
    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        if run_migrations:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)

    def record(
        self,
        *,
        task: str,
        inputs: dict[str, Any],
        input_text: str,
        results: Sequence[ResultRecord],
        model_id: str,
        params: dict[str, Any],
        user_name: str,
        adapter_id: str | None = None,
        latency_ms: float | None = None,
        source: str = "cli",
        status: str = "ok",
        error: str | None = None,
        brand_id: int | None = None,
        channel: str = "",
        batch_item: BatchItemRef | None = None,
    ) -> int:
        """Write one request with its results. With `batch_item`, the batch row is marked done
        in the same transaction (and nothing is written if it was done already)."""
        request = Request(
            brand_id=brand_id, channel=channel, search_text=search_text([input_text, *(r.text for r in results)]),
            task=task, inputs=inputs, input_text=input_text, model_id=model_id,
            adapter_id=adapter_id, params=params, user_name=user_name, latency_ms=latency_ms,
            source=source, status=status, error=error,
            results=[
                Result(position=i, text=r.text, label=r.label, confidence=r.confidence,
                       prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                       finish_reason=r.finish_reason, aspects=r.aspects)
                for i, r in enumerate(results)
            ],
        )
        with self.sessions.begin() as session:
            session.add(request)
            session.flush()
            if batch_item is not None:
                claimed = session.execute(
                    update(BatchItem)
                    .where(BatchItem.job_id == batch_item.job_id, BatchItem.row_index == batch_item.row_index,
                           BatchItem.status == "pending")
                    .values(status="done", output=batch_item.output, request_id=request.id,
                            completed_at=utcnow())
                )
                if claimed.rowcount != 1:
                    raise ItemAlreadyDone(batch_item.job_id, batch_item.row_index)  # rolls back
            return request.id

    def get(self, request_id: int) -> Request | None:
        with self.sessions() as session:
            return session.get(Request, request_id, options=[selectinload(Request.results)])

    def search(
        self,
        query: str = "",
        *,
        task: str | None = None,
        user_name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        brand_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Request]:
        """Newest first. Every word of `query` (jieba-segmented, so “榨汁杯充电” is two words)
        must occur in the input or an output, as a jieba word or as a substring."""
        statement = select(Request).options(selectinload(Request.results))
        if task:
            statement = statement.where(Request.task == task)
        if user_name:
            statement = statement.where(Request.user_name == user_name)
        if since:
            statement = statement.where(Request.created_at >= since)
        if until:
            statement = statement.where(Request.created_at < until)
        if brand_id is not None:
            statement = statement.where(Request.brand_id == brand_id)
        for word in query_words(query):
            pattern = f"%{_escape_like(word)}%"
            matching_results = select(Result.request_id).where(Result.text.ilike(pattern, escape="\\"))
            statement = statement.where(
                or_(
                    Request.search_text.like(f"% {_escape_like(word)} %", escape="\\"),
                    Request.input_text.ilike(pattern, escape="\\"),
                    Request.id.in_(matching_results),
                )
            )
        statement = statement.order_by(Request.created_at.desc(), Request.id.desc())
        statement = statement.limit(limit).offset(offset)
        with self.sessions() as session:
            return list(session.scalars(statement).all())

    # ------------------------------------------------------------ feedback
    def set_feedback(self, result_id: int, *, rating: int | None = None, edited_text: str | None = None) -> None:
        """A 👍 (+1) / 👎 (-1) and/or the user's edit, kept beside the original output."""
        with self.sessions.begin() as session:
            result = session.get(Result, result_id)
            if result is None:
                raise KeyError(result_id)
            if rating is not None:
                result.rating = 1 if rating > 0 else -1
            if edited_text is not None:
                result.edited_text, result.edited_at = edited_text, utcnow()

    def result_owner(self, result_id: int) -> str | None:
        """Whose request a result belongs to (None: no such result)."""
        with self.sessions() as session:
            return session.scalar(select(Request.user_name).join(Result, Result.request_id == Request.id)
                                  .where(Result.id == result_id))

    def feedback(self, task: str) -> list[tuple[Request, Result]]:
        """Rated or edited outputs of a task, oldest first."""
        statement = (select(Request, Result).join(Result, Result.request_id == Request.id)
                     .where(Request.task == task, or_(Result.rating.is_not(None), Result.edited_text.is_not(None)))
                     .order_by(Request.id, Result.position))
        with self.sessions() as session:
            return [(request, result) for request, result in session.execute(statement).all()]

    # ------------------------------------------------------------ knowledge base
    def add_faq(self, entries: Sequence[tuple[str, str, str]]) -> int:
        """Add (question, answer, category) entries; returns how many were added."""
        with self.sessions.begin() as session:
            session.add_all(FaqEntry(question=q, answer=a, category=c) for q, a, c in entries)
        return len(entries)

    def faq(self) -> list[FaqEntry]:
        with self.sessions() as session:
            return list(session.scalars(select(FaqEntry).order_by(FaqEntry.id)).all())

    def clear_faq(self) -> None:
        with self.sessions.begin() as session:
            session.execute(FaqEntry.__table__.delete())

    # ------------------------------------------------------------ brands
    def save_brand(self, name: str, *, tone: str = "", audience: str = "",
                   required_keywords: Sequence[str] = (), banned_words: Sequence[str] = (),
                   example_copy: Sequence[str] = ()) -> int:
        """Create or update a brand profile by name."""
        with self.sessions.begin() as session:
            brand = session.scalar(select(Brand).where(Brand.name == name)) or Brand(name=name)
            brand.tone, brand.audience = tone, audience
            brand.required_keywords = list(required_keywords)
            brand.banned_words = list(banned_words)
            brand.example_copy = list(example_copy)
            session.add(brand)
            session.flush()
            return brand.id

    def brands(self) -> list[Brand]:
        with self.sessions() as session:
            return list(session.scalars(select(Brand).order_by(Brand.name)).all())

    def brand(self, name_or_id: str | int) -> Brand | None:
        with self.sessions() as session:
            if isinstance(name_or_id, int):
                return session.get(Brand, name_or_id)
            return session.scalar(select(Brand).where(Brand.name == name_or_id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
