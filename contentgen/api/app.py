"""The HTTP API: `create_app` puts the guard in front and registers each resource's routes
(tasks, the OpenAI-compatible chat, check, batch, faq, sentiment, history); a route parses, calls a
use case and renders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contentgen.api import batch, check, faq, history, openai, sentiment, tasks
from contentgen.api.context import ApiContext
from contentgen.api.guard import (
    MAX_BODY_BYTES,
    MAX_UPLOAD_BYTES,
    RATE_LIMIT,
    ApiError,
    error_response,
    guarded,
)
from contentgen.config import Settings, load_settings
from contentgen.errors import NotFound, UserFacingError

if TYPE_CHECKING:  # a type only: the engine is built by contentgen.runtime
    from contentgen.engine import Engine

# Registration order is the order of /docs.
RESOURCES = (tasks, openai, check, batch, faq, sentiment, history)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               rate_limit: int = RATE_LIMIT) -> FastAPI:
    api = ApiContext(settings or load_settings(), rate_limit, engine)
    app = FastAPI(title="contentgen API", version="1.0",
                  description="中文营销文案、客服回复、情感标签、广告法检查、批量任务、历史与反馈。"
                              "认证：Authorization: Bearer <API key>。")
    add_error_handlers(app)
    app.add_middleware(lambda inner: guarded(inner, account_of=api.account_of, limit_of=lambda path: (
        MAX_UPLOAD_BYTES if path.startswith("/v1/batch") else MAX_BODY_BYTES)))
    for resource in RESOURCES:
        resource.register(app, api)
    return app


def add_error_handlers(app: FastAPI) -> None:
    """Every error as {"error": {code, message}} with a Chinese message that says what to do."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        response = error_response(exc.status, exc.code, exc.message, request.url.path)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(UserFacingError)
    async def user_error(request: Request, exc: UserFacingError) -> JSONResponse:
        if isinstance(exc, NotFound):
            return error_response(404, "not_found", str(exc), request.url.path)
        return error_response(400, "invalid_input", str(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "；".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or '请求体'}：{e['msg']}"
                         for e in exc.errors()[:5])
        return error_response(422, "invalid_request", f"请求格式不正确（{where}）。请对照 /docs 中的接口说明。",
                      request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "没有这个接口或资源。", 405: "不支持该请求方法。"}
        return error_response(exc.status_code, f"http_{exc.status_code}", messages.get(exc.status_code, str(exc.detail)),
                      request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", f"服务内部错误（{type(exc).__name__}），请稍后重试或联系管理员。",
                      request.url.path)
