"""What stands in front of every route: body size limits, authentication, rate limits and errors in Chinese."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

MAX_BODY_BYTES = 1_000_000  # JSON bodies; uploads for batch jobs get MAX_UPLOAD_BYTES
MAX_UPLOAD_BYTES = 20_000_000
RATE_LIMIT = 60  # requests per key per minute
MAX_TEXTS = 500  # reviews per /v1/tag call; more belong in a batch job


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


# ------------------------------------------------------------------ request bodies

class RateLimiter:
    """Sliding one-minute window per key (an API key, a user name)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """0 if a request is allowed now (and counts it), else the seconds until one is."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(60 - (now - hits[0]), 0.001)
            hits.append(now)
            return 0.0


class BodyTooLarge(Exception):
    pass


def guarded(app, *, account_of, limit_of):  # noqa: ANN001, ANN201
    """ASGI middleware: an /v1 request is authenticated before its body is read, and the body is
    read with a limit on the bytes actually received (chunked bodies too), then handed on whole."""

    async def middleware(scope, receive, send):  # noqa: ANN001, ANN202
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        account = await run_in_threadpool(account_of, headers.get("authorization", ""))
        if account is None:
            return await error_response(401, "unauthorized", UNAUTHORIZED, scope["path"])(scope, receive, send)
        limit = limit_of(scope["path"])
        length = headers.get("content-length")
        too_large = error_response(413, "too_large", f"请求体超过上限 {limit // 1000} KB。大量数据请使用批量任务（/v1/batch）。",
                           scope["path"])
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await too_large(scope, receive, send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():  # noqa: ANN202
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        scope.setdefault("state", {})["account"] = account
        return await app(scope, replay, send)

    return middleware


# The OpenAI-compatible routes (api/openai.py): their errors come in OpenAI's shape, which its clients read.
OPENAI_PATHS = ("/v1/models", "/v1/chat/completions")


def error_body(code: str, message: str, status: int) -> dict[str, Any]:
    kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
            429: "rate_limit_error"}.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


UNAUTHORIZED = "缺少或无效的 API Key。请在请求头加入 Authorization: Bearer <key>。"


def error_response(status: int, code: str, message: str, path: str = "") -> JSONResponse:
    """{"code", "message"}; on the OpenAI-compatible routes OpenAI's {"error": {...}}, which its clients read."""
    if path in OPENAI_PATHS:
        return JSONResponse(error_body(code, message, status), status_code=status)
    return JSONResponse({"code": code, "message": message}, status_code=status)

