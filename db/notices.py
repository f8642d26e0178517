"""Alerts and digests that were sent: when each rule last fired, what people were told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Notice


class NoticeStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(self, *, kind: str, rule: str, window_start: datetime, window_end: datetime, title: str, text: str,
            figures: dict[str, Any], delivered: dict[str, Any]) -> int:
        with self.sessions.begin() as session:
            notice = Notice(kind=kind, rule=rule, window_start=window_start, window_end=window_end, title=title,
                            text=text, figures=figures, delivered=delivered)
            session.add(notice)
            session.flush()
            return notice.id

    def last(self, kind: str, rule: str) -> Notice | None:
        with self.sessions() as session:
            return session.scalar(select(Notice).where(Notice.kind == kind, Notice.rule == rule)
                                  .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(1))

    def recent(self, limit: int = 50) -> list[Notice]:
        with self.sessions() as session:
            return list(session.scalars(select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)))
