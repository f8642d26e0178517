"""Accounts and API keys as rows: the SQL behind contentgen.usecases.accounts (which holds the policy:
password hashing, roles, lock-out, key format)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import ApiKey, User

T = TypeVar("T")


class UserStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0

    def get(self, name: str) -> User | None:
        with self.sessions() as session:
            return session.scalar(select(User).where(User.name == name))

    def list(self) -> list[User]:
        with self.sessions() as session:
            return list(session.scalars(select(User).order_by(User.name)).all())

    def add(self, name: str, password_hash: str, role: str) -> bool:
        """False if the name is taken."""
        with self.sessions.begin() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                return False
            session.add(User(name=name, password_hash=password_hash, role=role))
        return True

    def change(self, name: str, change: Callable[[User | None], T]) -> T:
        """Run `change` on the user's row (None if there is none) in one transaction; it commits
        whatever `change` set, even when the caller then reports a failure (a counted wrong password)."""
        with self.sessions.begin() as session:
            return change(session.scalar(select(User).where(User.name == name)))


class ApiKeyRows:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def add(self, user_name: str, key_hash: str, prefix: str) -> bool:
        """False if there is no such user."""
        with self.sessions.begin() as session:
            if session.scalar(select(User).where(User.name == user_name)) is None:
                return False
            session.add(ApiKey(user_name=user_name, key_hash=key_hash, prefix=prefix))
        return True

    def owner(self, key_hash: str) -> tuple[str, str, bool] | None:
        """(name, role, active) of the user an unrevoked key belongs to."""
        with self.sessions() as session:
            row = session.execute(
                select(User.name, User.role, User.active).join(ApiKey, ApiKey.user_name == User.name)
                .where(ApiKey.key_hash == key_hash, ApiKey.revoked.is_(False))).first()
        return (row.name, row.role, row.active) if row is not None else None

    def list(self, user_name: str | None = None) -> list[ApiKey]:
        statement = select(ApiKey).order_by(ApiKey.id)
        if user_name:
            statement = statement.where(ApiKey.user_name == user_name)
        with self.sessions() as session:
            return list(session.scalars(statement).all())

    def revoke(self, prefix: str) -> int:
        with self.sessions.begin() as session:
            keys = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).all()
            for key in keys:
                key.revoked = True
            return len(keys)
