"""Brand profiles, the support knowledge base (FAQ) and feedback on outputs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Brand, FaqEntry, Request, Result, UnansweredQuestion, utcnow


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

    def create(self, question: str, answer: str, category: str = "", *, direct_answer: bool = False) -> int:
        with self.sessions.begin() as session:
            entry = FaqEntry(question=question, answer=answer, category=category, direct_answer=direct_answer)
            session.add(entry)
            session.flush()
            return entry.id

    def list(self, *, enabled_only: bool = False) -> list[FaqEntry]:
        with self.sessions() as session:
            query = select(FaqEntry).order_by(FaqEntry.id)
            if enabled_only:
                query = query.where(FaqEntry.enabled.is_(True))
            return list(session.scalars(query).all())

    def get(self, entry_id: int) -> FaqEntry | None:
        with self.sessions() as session:
            return session.get(FaqEntry, entry_id)

    def update(self, entry_id: int, **fields: object) -> bool:
        """Change question, answer, category, enabled or direct_answer; False when there is no such entry."""
        allowed = {"question", "answer", "category", "enabled", "direct_answer"}
        with self.sessions.begin() as session:
            entry = session.get(FaqEntry, entry_id)
            if entry is None:
                return False
            for name, value in fields.items():
                if name in allowed and value is not None:
                    setattr(entry, name, value)
            entry.updated_at = utcnow()
            return True

    def delete(self, entry_id: int) -> bool:
        with self.sessions.begin() as session:
            entry = session.get(FaqEntry, entry_id)
            if entry is None:
                return False
            session.delete(entry)
            return True

    def count_hit(self, entry_id: int) -> None:
        with self.sessions.begin() as session:
            # updated_at kept: a hit is not an edit (the retrieval index is not rebuilt for it).
            session.execute(update(FaqEntry).where(FaqEntry.id == entry_id)
                            .values(hits=FaqEntry.hits + 1, updated_at=FaqEntry.updated_at))

    def version(self) -> tuple:
        """Changes whenever an entry is added, edited, switched or deleted (the retrieval index is rebuilt)."""
        with self.sessions() as session:
            return tuple(session.execute(select(func.count(FaqEntry.id), func.max(FaqEntry.id),
                                                func.max(FaqEntry.updated_at))).one())

    def clear(self) -> None:
        with self.sessions.begin() as session:
            session.execute(FaqEntry.__table__.delete())


def question_key(question: str) -> str:
    return re.sub(r"[\W_]+", "", question.lower())[:200]


class UnansweredStore:
    """Questions no entry answered, with how often each was asked: what the knowledge base lacks."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def log(self, question: str) -> None:
        key = question_key(question)
        if not key:
            return
        with self.sessions.begin() as session:
            row = session.scalar(select(UnansweredQuestion).where(UnansweredQuestion.key == key))
            if row is None:
                session.add(UnansweredQuestion(question=question.strip()[:2000], key=key))
            else:
                row.count += 1
                row.last_seen = utcnow()

    def list(self, *, open_only: bool = True) -> list[UnansweredQuestion]:
        with self.sessions() as session:
            query = select(UnansweredQuestion).order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.last_seen.desc())
            if open_only:
                query = query.where(UnansweredQuestion.entry_id.is_(None))
            return list(session.scalars(query).all())

    def answer(self, question_id: int, answer: str, category: str = "", *, question: str = "",
               direct_answer: bool = False) -> int | None:
        """Turn a logged question into a knowledge-base entry in one step; the entry's id, or None."""
        with self.sessions.begin() as session:
            row = session.get(UnansweredQuestion, question_id)
            if row is None:
                return None
            entry = FaqEntry(question=question.strip() or row.question, answer=answer, category=category,
                             direct_answer=direct_answer)
            session.add(entry)
            session.flush()
            row.entry_id = entry.id
            return entry.id


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
