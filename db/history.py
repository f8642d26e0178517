"""The history store: record every request with its results; read and search them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from db.models import Request, Result
from db.search import query_words, search_text


@dataclass(frozen=True)
class ResultRecord:
    text: str = ""
    label: str | None = None
    confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    aspects: list[dict[str, Any]] | None = None


# Tries of one history write when the database is busy (0.5 + 1 + 2 + 4 s of backoff between them).
WRITE_ATTEMPTS = 5


class HistoryStore:
    """Every request with its results: record, read back, search."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

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
        also: Callable[[Session, int], None] | None = None,
    ) -> int:
        """Write one request with its results. `also(session, request_id)` runs in the same
        transaction (a batch row marked done with it); if it raises, nothing is written.

        A database busy with another writer (SQLite's lock held past busy_timeout, a PostgreSQL
        connection dropped) is retried with backoff: the text the model wrote is not lost to it."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return self._write(also, task=task, inputs=inputs, input_text=input_text, results=results,
                                   model_id=model_id, params=params, user_name=user_name, adapter_id=adapter_id,
                                   latency_ms=latency_ms, source=source, status=status, error=error,
                                   brand_id=brand_id, channel=channel)
            except OperationalError:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(min(0.5 * 2 ** attempt, 8.0))
        raise AssertionError("unreachable")

    def _write(self, also: Callable[[Session, int], None] | None, *, task: str, inputs: dict[str, Any],
               input_text: str, results: Sequence[ResultRecord], model_id: str, params: dict[str, Any],
               user_name: str, adapter_id: str | None, latency_ms: float | None, source: str, status: str,
               error: str | None, brand_id: int | None, channel: str) -> int:
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
            if also is not None:
                also(session, request.id)
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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
