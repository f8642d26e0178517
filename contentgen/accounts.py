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
from contentgen.errors import UserFacingError
from contentgen.tasks import tasks_for_role
from db.batches import aware
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
    """Account policy (validation, argon2, lock-out) over the database's user rows."""

    def __init__(self, database) -> None:  # noqa: ANN001 - db.database.Database
        self.users = database.users

    def any_accounts(self) -> bool:
        return self.users.count() > 0

    def add(self, name: str, password: str, role: str) -> Account:
        name = name.strip()
        if not name or len(name) > 100:
            raise UserFacingError("用户名不能为空，且不超过 100 个字符。")
        if role not in ROLES:
            raise UserFacingError(f"角色只能是：{'、'.join(ROLES)}（{'、'.join(ROLES.values())}）。")
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserFacingError(f"密码至少 {MIN_PASSWORD_CHARS} 位。")
        if not self.users.add(name, _HASHER.hash(password), role):
            raise UserFacingError(f"用户“{name}”已存在。")
        return Account(name, role)

    def list(self) -> list[User]:
        return self.users.list()

    def update(self, name: str, *, role: str | None = None, active: bool | None = None,
               password: str | None = None) -> None:
        if role is not None and role not in ROLES:
            raise UserFacingError(f"角色只能是：{'、'.join(ROLES)}。")
        if password is not None and len(password) < MIN_PASSWORD_CHARS:
            raise UserFacingError(f"密码至少 {MIN_PASSWORD_CHARS} 位。")

        def change(user: User | None) -> None:
            if user is None:
                raise UserFacingError(f"没有用户“{name}”。")
            if role is not None:
                user.role = role
            if active is not None:
                user.active = active
            if password is not None:
                user.password_hash, user.failed_logins, user.locked_until = _HASHER.hash(password), 0, None

        self.users.change(name, change)

    def authenticate(self, name: str, password: str, now: datetime | None = None) -> Account:
        """The account, or a Chinese error that does not reveal whether the name exists."""
        now = now or utcnow()
        wrong = UserFacingError("用户名或密码错误。")

        def attempt(user: User | None) -> tuple[bool, Account | None, bool]:
            if user is None:
                _HASHER.hash(password)  # same work as a real check: no timing hint that the name is unknown
                return False, None, False
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
            return verified, Account(user.name, user.role), user.active

        verified, account, active = self.users.change(name.strip(), attempt)
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

    def __init__(self, database) -> None:  # noqa: ANN001 - db.database.Database
        self.rows = database.api_keys

    def create(self, user_name: str) -> str:
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        if not self.rows.add(user_name, _key_hash(key), key[:10]):
            raise UserFacingError(f"没有用户“{user_name}”，请先用 contentgen user add 创建。")
        return key

    def account(self, key: str) -> Account | None:
        """The active account a key belongs to, or None."""
        if not key.startswith(API_KEY_PREFIX):
            return None
        owner = self.rows.owner(_key_hash(key))
        if owner is None or not owner[2]:
            return None
        return Account(owner[0], owner[1])

    def list(self, user_name: str | None = None) -> list[ApiKey]:
        return self.rows.list(user_name)

    def revoke(self, prefix: str) -> int:
        return self.rows.revoke(prefix)


def session_expired(last_seen: datetime, now: datetime | None = None) -> bool:
    return (now or utcnow()) - last_seen > SESSION_TTL
