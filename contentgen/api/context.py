"""What every resource's routes share: settings, the store, batch jobs, the shared engine, and who is calling."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from contentgen.api.guard import UNAUTHORIZED, ApiError, RateLimiter
from contentgen.config import Settings
from contentgen.runtime import build_engine, build_service, build_store
from contentgen.usecases.accounts import ROLE_TASKS, Account, ApiKeyStore
from contentgen.usecases.batch import BatchJobs
from contentgen.usecases.service import ContentService

if TYPE_CHECKING:  # a type only: the engine is built by contentgen.runtime
    from contentgen.engine import Engine


def key_of(header: str) -> str:
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


@dataclass
class ApiContext:
    settings: Settings
    rate_limit: int
    given_engine: Engine | None = None
    store: Any = field(init=False)  # db.database.Database
    keys: ApiKeyStore = field(init=False)
    jobs: BatchJobs = field(init=False)

    def __post_init__(self) -> None:
        self.store = build_store(self.settings)
        self.keys = ApiKeyStore(self.store)
        self.jobs = BatchJobs(self.settings, self.store)
        self.limiter, self.user_limiter = RateLimiter(self.rate_limit), RateLimiter(self.rate_limit)
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()

    def engine(self) -> Engine:
        with self._engine_lock:  # loaded once, on the first call that needs the model
            if self._engine is None:
                self._engine = self.given_engine or build_engine(self.settings.model)
            return self._engine

    def account_of(self, header: str) -> Account | None:
        key = key_of(header)
        return self.keys.account(key) if key else None

    def caller(self, request: Request) -> Account:
        """The FastAPI dependency of every route: the account the middleware authenticated, within its rate."""
        account = request.scope.get("state", {}).get("account")
        if account is None:
            raise ApiError(401, "unauthorized", UNAUTHORIZED)
        # Per key, and per user across all their keys.
        wait = max(self.limiter.wait(key_of(request.headers.get("authorization", ""))),
                   self.user_limiter.wait(account.name))
        if wait:
            raise ApiError(429, "rate_limited",
                           f"请求过于频繁：每个账号每分钟最多 {self.limiter.per_minute} 次，请 {int(wait) + 1} 秒后再试。",
                           headers={"Retry-After": str(int(wait) + 1)})
        return account

    def service_for(self, account: Account) -> ContentService:
        return build_service(self.settings, source="api", engine=self.engine(), store=self.store,
                             user_name=account.name)

    def allowed(self, account: Account, task: str) -> None:
        if not account.is_admin and task not in ROLE_TASKS.get(account.role, ()):
            raise ApiError(403, "forbidden", "当前账号的角色不能使用该功能，请联系管理员。")

    def sse(self, events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingResponse:
        def encode() -> Iterator[bytes]:
            for event, data in events:
                yield f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        return StreamingResponse(encode(), media_type="text/event-stream")


Register = Callable[[Any, ApiContext], None]
