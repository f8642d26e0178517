"""The history store: record every request with its results; list and search them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from db.models import Request, Result
from db.session import create_db_engine, migrate, session_factory


@dataclass(frozen=True)
class ResultRecord:
    text: str = ""
    label: str | None = None
    confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


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
    ) -> int:
        request = Request(
            task=task, inputs=inputs, input_text=input_text, model_id=model_id,
            adapter_id=adapter_id, params=params, user_name=user_name, latency_ms=latency_ms,
            source=source, status=status, error=error,
            results=[
                Result(position=i, text=r.text, label=r.label, confidence=r.confidence,
                       prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                       finish_reason=r.finish_reason)
                for i, r in enumerate(results)
            ],
        )
        with self.sessions.begin() as session:
            session.add(request)
            session.flush()
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
        limit: int = 50,
        offset: int = 0,
    ) -> list[Request]:
        """Newest first. `query` matches the input or any output (substring, case-insensitive)."""
        statement = select(Request).options(selectinload(Request.results))
        if task:
            statement = statement.where(Request.task == task)
        if user_name:
            statement = statement.where(Request.user_name == user_name)
        if since:
            statement = statement.where(Request.created_at >= since)
        if until:
            statement = statement.where(Request.created_at < until)
        for term in query.split():
            pattern = f"%{term}%"
            matching_results = select(Result.request_id).where(Result.text.ilike(pattern))
            statement = statement.where(
                or_(Request.input_text.ilike(pattern), Request.id.in_(matching_results))
            )
        statement = statement.order_by(Request.created_at.desc(), Request.id.desc())
        statement = statement.limit(limit).offset(offset)
        with self.sessions() as session:
            return list(session.scalars(statement).all())
