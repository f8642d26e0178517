"""Accounts: argon2 password hashes, roles, login rate limiting and session expiry.

With no accounts in the database the app runs as a single local user (a fresh `make run`);
the first `contentgen user add --role admin` turns login on for everyone.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from contentgen.errors import UserFacingError
from contentgen.tasks import tasks_for_role
from db.batches import aware
from db.history import HistoryStore
from db.models import ApiKey, User, utcnow

ROLES = {"marketing": "市场", "support": "客服", "admin": "管理员"}
# Tasks each role may run (admin: all), in the UI, the API and batch jobs alike: each task names its roles.
ROLE_TASKS = {role: tasks_for_role(role) for role in ROLES if role != "admin"}
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)
SESSION_TTL = timedelta(hours=8)  # idle time after which a browser session must log in again
MIN_PASSWORD_CHARS = 8
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Account:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AccountStore:
    def __init__(self, store: HistoryStore) -> None:
        self.sessions = store.sessions

    def any_accounts(self) -> bool:
        with self.sessions() as session:
            return bool(session.scalar(select(func.count()).select_from(User)))

    def add(self, name: str, password: str, role: str) -> Account:
        name = name.strip()
        if not name or len(name) > 100:
            raise UserFacingError("用户名不能为空，且不超过 100 个字符。")
        if role not in ROLES:
            raise UserFacingError(f"角色只能是：{'、'.join(ROLES)}（{'、'.join(ROLES.values())}）。")
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserFacingError(f"密码至少 {MIN_PASSWORD_CHARS} 位。")
        with self.sessions.begin() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise UserFacingError(f"用户“{name}”已存在。")
            session.add(User(name=name, password_hash=_HASHER.hash(password), role=role))
        return Account(name, role)

    def list(self) -> list[User]:
        with self.sessions() as session:
            return list(session.scalars(select(User).order_by(User.name)).all())

    def update(self, name: str, *, role: str | None = None, active: bool | None = None,
               password: str | None = None) -> None:
        with self.sessions.begin() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise UserFacingError(f"没有用户“{name}”。")
            if role is not None:
                if role not in ROLES:
                    raise UserFacingError(f"角色只能是：{'、'.join(ROLES)}。")
                user.role = role
            if active is not None:
                user.active = active
            if password is not None:
                if len(password) < MIN_PASSWORD_CHARS:
                    raise UserFacingError(f"密码至少 {MIN_PASSWORD_CHARS} 位。")
                user.password_hash, user.failed_logins, user.locked_until = _HASHER.hash(password), 0, None

    def authenticate(self, name: str, password: str, now: datetime | None = None) -> Account:
        """The account, or a Chinese error that does not reveal whether the name exists."""
        now = now or utcnow()
        wrong = UserFacingError("用户名或密码错误。")
        with self.sessions.begin() as session:
            user = session.scalar(select(User).where(User.name == name.strip()))
            if user is None:
                _HASHER.hash(password)  # same work as a real check: no timing hint that the name is unknown
                raise wrong
            if user.locked_until is not None and aware(user.locked_until) > now:
                minutes = max(1, int((aware(user.locked_until) - now).total_seconds() // 60) + 1)
                raise UserFacingError(f"登录失败次数过多，账号已暂时锁定，请 {minutes} 分钟后再试。")
            try:
                _HASHER.verify(user.password_hash, password)
                verified = True
            except (VerificationError, InvalidHashError):
                verified = False
            if not verified:
                # Counted in this transaction, which commits before the error is raised below.
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILED_LOGINS:
                    user.locked_until, user.failed_logins = now + LOCKOUT, 0
            elif user.active:
                user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
                if _HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = _HASHER.hash(password)
            account, active = Account(user.name, user.role), user.active
        if not verified:
            raise wrong
        if not active:
            raise UserFacingError("该账号已停用，请联系管理员。")
        return account


API_KEY_PREFIX = "cg_"


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    """Per-user API keys: shown once at creation, stored as a hash, revocable."""

    def __init__(self, store: HistoryStore) -> None:
        self.sessions = store.sessions

    def create(self, user_name: str) -> str:
        with self.sessions.begin() as session:
            if session.scalar(select(User).where(User.name == user_name)) is None:
                raise UserFacingError(f"没有用户“{user_name}”，请先用 contentgen user add 创建。")
            key = API_KEY_PREFIX + secrets.token_urlsafe(32)
            session.add(ApiKey(user_name=user_name, key_hash=_key_hash(key), prefix=key[:10]))
        return key

    def account(self, key: str) -> Account | None:
        """The active account a key belongs to, or None."""
        if not key.startswith(API_KEY_PREFIX):
            return None
        with self.sessions() as session:
            row = session.execute(
                select(User.name, User.role, User.active).join(ApiKey, ApiKey.user_name == User.name)
                .where(ApiKey.key_hash == _key_hash(key), ApiKey.revoked.is_(False))).first()
        if row is None or not row.active:
            return None
        return Account(row.name, row.role)

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


def session_expired(last_seen: datetime, now: datetime | None = None) -> bool:
    return (now or utcnow()) - last_seen > SESSION_TTL
