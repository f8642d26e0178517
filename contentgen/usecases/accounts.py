"""Accounts: argon2 password hashes, roles, login rate limiting and session expiry.

With no accounts in the database the app runs as a single local user (a fresh `make run`);
the first `contentgen user add --role admin` turns login on for everyone.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contentgen.errors import UserFacingError
from contentgen.tasks import tasks_for_role
from db.models import ApiKey, User, utcnow

ROLES = {"marketing": "市场", "support": "客服", "admin": "管理员"}
# Tasks each role may run (admin: all), in the UI, the API and batch jobs alike: each task names its roles.
ROLE_TASKS = {role: tasks_for_role(role) for role in ROLES if role != "admin"}
MAX_FAILED_LOGINS = 5          # per account and client, then that client waits LOCKOUT for that account
LOCKOUT = timedelta(minutes=5)
MAX_CLIENT_FAILURES = 30       # per client over any names within CLIENT_WINDOW, then it waits too
CLIENT_WINDOW = timedelta(minutes=15)
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


class LoginThrottle:
    """Failed logins counted per (account, client) and per client, in this server process.

    A stranger's failures slow down only that stranger: they never lock the account for its
    owner on another client. A locked name and an unknown one get the same answer, so the
    answer does not tell whether a name exists."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, ...], list[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, ...], window: timedelta, now: datetime) -> list[datetime]:
        kept = [t for t in self._failures.get(key, []) if now - t < window]
        self._failures[key] = kept
        return kept

    def wait(self, database: str, name: str, client: str, now: datetime) -> timedelta | None:
        with self._lock:
            pair = self._recent((database, name, client), LOCKOUT, now)
            if len(pair) >= MAX_FAILED_LOGINS:
                return pair[-MAX_FAILED_LOGINS] + LOCKOUT - now
            anywhere = self._recent((database, client), CLIENT_WINDOW, now)
            if len(anywhere) >= MAX_CLIENT_FAILURES:
                return anywhere[-MAX_CLIENT_FAILURES] + CLIENT_WINDOW - now
        return None

    def failed(self, database: str, name: str, client: str, now: datetime) -> None:
        with self._lock:
            for key in ((database, name, client), (database, client)):
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, database: str, name: str, client: str) -> None:
        with self._lock:
            self._failures.pop((database, name, client), None)


THROTTLE = LoginThrottle()


class AccountStore:
    """Account policy (validation, argon2, lock-out) over the database's user rows."""

    def __init__(self, database, throttle: LoginThrottle = THROTTLE) -> None:  # noqa: ANN001 - db.database.Database
        self.users = database.users
        self.database = database.url
        self.throttle = throttle

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

    def authenticate(self, name: str, password: str, now: datetime | None = None, *, client: str = "local") -> Account:
        """The account, or a Chinese error that does not reveal whether the name exists.
        `client`: who is trying (the browser's address); failures are counted per client."""
        now, name = now or utcnow(), name.strip()
        wait = self.throttle.wait(self.database, name, client, now)
        if wait is not None:
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            raise UserFacingError(f"登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。")

        def attempt(user: User | None) -> tuple[bool, Account | None, bool]:
            if user is None:
                _HASHER.hash(password)  # same work as a real check: no timing hint that the name is unknown
                return False, None, False
            try:
                _HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                return False, None, False
            if user.active:
                user.last_login_at = now
                if _HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = _HASHER.hash(password)
            return True, Account(user.name, user.role), user.active

        verified, account, active = self.users.change(name, attempt)
        if not verified:
            self.throttle.failed(self.database, name, client, now)
            raise UserFacingError("用户名或密码错误。")
        self.throttle.succeeded(self.database, name, client)
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
