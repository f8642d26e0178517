"""Brand profiles, the support knowledge base (FAQ) and feedback on outputs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Brand, FaqEntry, Request, Result, utcnow


class BrandStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, name: str, *, tone: str = "", audience: str = "", required_keywords: Sequence[str] = (),
             banned_words: Sequence[str] = (), example_copy: Sequence[str] = (), industry: str = "") -> int:
        """Create or update a brand profile by name."""
        with self.sessions.begin() as session:
            brand = session.scalar(select(Brand).where(Brand.name == name)) or Brand(name=name)
            brand.tone, brand.audience = tone, audience
            brand.required_keywords = list(required_keywords)
            brand.banned_words = list(banned_words)
            brand.example_copy = list(example_copy)
            brand.industry = industry
            session.add(brand)
            session.flush()
            return brand.id

    def list(self) -> list[Brand]:
        with self.sessions() as session:
            return list(session.scalars(select(Brand).order_by(Brand.name)).all())

    def get(self, name_or_id: str | int) -> Brand | None:
        with self.sessions() as session:
            if isinstance(name_or_id, int):
                return session.get(Brand, name_or_id)
            return session.scalar(select(Brand).where(Brand.name == name_or_id))


class FaqStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(self, entries: Sequence[tuple[str, str, str]]) -> int:
        """Add (question, answer, category) entries; returns how many were added."""
        with self.sessions.begin() as session:
            session.add_all(FaqEntry(question=q, answer=a, category=c) for q, a, c in entries)
        return len(entries)

    def list(self) -> list[FaqEntry]:
        with self.sessions() as session:
            return list(session.scalars(select(FaqEntry).order_by(FaqEntry.id)).all())

    def clear(self) -> None:
        with self.sessions.begin() as session:
            session.execute(FaqEntry.__table__.delete())


class FeedbackStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def set(self, result_id: int, *, rating: int | None = None, edited_text: str | None = None) -> None:
        """A 👍 (+1) / 👎 (-1) and/or the user's edit, kept beside the original output."""
        with self.sessions.begin() as session:
            result = session.get(Result, result_id)
            if result is None:
                raise KeyError(result_id)
            if rating is not None:
                result.rating = 1 if rating > 0 else -1
            if edited_text is not None:
                result.edited_text, result.edited_at = edited_text, utcnow()

    def owner(self, result_id: int) -> str | None:
        """Whose request a result belongs to (None: no such result)."""
        with self.sessions() as session:
            return session.scalar(select(Request.user_name).join(Result, Result.request_id == Request.id)
                                  .where(Result.id == result_id))

    def rated(self, task: str) -> list[tuple[Request, Result]]:
        """Rated or edited outputs of a task, oldest first."""
        statement = (select(Request, Result).join(Result, Result.request_id == Request.id)
                     .where(Request.task == task, or_(Result.rating.is_not(None), Result.edited_text.is_not(None)))
                     .order_by(Request.id, Result.position))
        with self.sessions() as session:
            return [(request, result) for request, result in session.execute(statement).all()]
