"""HTTP API (FastAPI): the same service layer as the UI and CLI, for a company's other systems.

    contentgen api                      # http://127.0.0.1:8000, OpenAPI at /docs and /openapi.json

Every call needs `Authorization: Bearer <key>` (keys: `contentgen apikey create --name 小王`)
and acts as that key's user, with the user's role and history. Errors are JSON
{"code": "...", "message": "中文说明"} with a 4xx status.
"""

import inspect
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, create_model
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from contentgen.usecases import batch as batches_module
from contentgen import openai_api
from contentgen.usecases.accounts import ROLE_TASKS, Account, ApiKeyStore
from contentgen.config import Settings, load_settings
from contentgen.engine import Engine
from contentgen.errors import UserFacingError
from contentgen.usecases.alerts import notice_row
from contentgen.tasks.sentiment.insight import insight_workbook
from contentgen.runtime import build_service
from contentgen.usecases.service import ContentService
from contentgen.usecases.faq import add_faq_entry, answer_unanswered, delete_faq_entry, edit_faq_entry, faq_row, unanswered_rows
from contentgen.usecases.rules import check_text
from contentgen.usecases.history import history_row
from contentgen.tasks import TASKS, Task, batch_tasks, with_command
from contentgen.tasks.base import CHOICE, INTEGER, LINES, TURNS, InputField
from db.database import Database
from db.models import aware

MAX_BODY_BYTES = 1_000_000  # JSON bodies; uploads for batch jobs get MAX_UPLOAD_BYTES
MAX_UPLOAD_BYTES = 20_000_000
RATE_LIMIT = 60  # requests per key per minute
MAX_TEXTS = 500  # reviews per /v1/tag call; more belong in a batch job


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


# ------------------------------------------------------------------ request bodies

class Turn(BaseModel):
    role: Literal["customer", "agent"]
    text: str = Field(max_length=4000)


def _body_field(field: InputField) -> tuple[Any, Any]:
    """The pydantic type and default of one task input field."""
    described = {"description": field.help or field.label}
    if field.kind == CHOICE:
        return Literal[field.choices], Field(field.default, **described)  # type: ignore[valid-type]
    if field.kind == INTEGER:
        return int, Field(field.default, ge=field.minimum, le=field.maximum, **described)
    if field.kind == LINES:
        return list[str] | str, Field(default_factory=list, max_length=100, **described)
    if field.kind == TURNS:
        return list[Turn], Field(default_factory=list, max_length=50, **described)
    if field.required:
        return str, Field(max_length=field.max_chars, **described)
    return str, Field(field.default or "", max_length=field.max_chars, **described)


def task_body(task: Task) -> type[BaseModel]:
    """The request body of a task's route, from its fields (classification: many texts at once)."""
    fields: dict[str, Any] = {}
    for field in task.fields:
        if task.kind == "classify" and field.name == "text":
            fields["texts"] = (list[Annotated[str, Field(max_length=field.max_chars)]],
                               Field(min_length=1, max_length=MAX_TEXTS))
        else:
            fields[field.name] = _body_field(field)
    fields["adapter"] = (str, Field("auto", max_length=100))
    return create_model(f"{task.name.title()}Body", **fields)


def request_from_body(task: Task, body: BaseModel) -> Any:
    values: dict[str, Any] = {}
    for field in task.fields:
        if not hasattr(body, field.name):
            continue
        value = getattr(body, field.name)
        if field.kind == TURNS:
            value = tuple({"role": t.role, "text": t.text} for t in value)
        elif field.kind == LINES:
            value = field.parse_text(value) if isinstance(value, str) else tuple(p.strip() for p in value if p.strip())
        values[field.name] = value
    return task.build_request(values)


class CheckBody(BaseModel):
    text: str = Field(max_length=20000)
    brand: str | None = Field(None, max_length=100)
    protect: list[str] = Field(default_factory=list, max_length=50)
    industry: str = Field("", max_length=20)
    platform: str = Field("", max_length=20)


# A row number in a URL: within what the database stores (a larger one is a 422, not an overflow).
RowId = Annotated[int, Path(ge=1, le=2**62)]


class FaqBody(BaseModel):
    """A knowledge-base entry: every field optional for an edit; question and answer needed to add one."""
    question: str | None = Field(None, max_length=2000)
    answer: str | None = Field(None, max_length=2000)
    category: str | None = Field(None, max_length=100)
    enabled: bool | None = None
    direct_answer: bool | None = None


class FeedbackBody(BaseModel):
    result_id: int = Field(ge=1, le=2**62)
    rating: Literal[-1, 1] | None = None
    edited_text: str | None = Field(None, max_length=20000)


# ------------------------------------------------------------------ rate limiting

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
            return await _error(401, "unauthorized", UNAUTHORIZED, scope["path"])(scope, receive, send)
        limit = limit_of(scope["path"])
        length = headers.get("content-length")
        too_large = _error(413, "too_large", f"请求体超过上限 {limit // 1000} KB。大量数据请使用批量任务（/v1/batch）。",
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


UNAUTHORIZED = "缺少或无效的 API Key。请在请求头加入 Authorization: Bearer <key>。"


def _error(status: int, code: str, message: str, path: str = "") -> JSONResponse:
    """{"code", "message"}; on the OpenAI-compatible routes OpenAI's {"error": {...}}, which its clients read."""
    if path in openai_api.PATHS:
        return JSONResponse(openai_api.error_body(code, message, status), status_code=status)
    return JSONResponse({"code": code, "message": message}, status_code=status)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               rate_limit: int = RATE_LIMIT) -> FastAPI:
    settings = settings or load_settings()
    store = Database(settings.database.resolved_url())
    keys, limiter, user_limiter = ApiKeyStore(store), RateLimiter(rate_limit), RateLimiter(rate_limit)
    jobs = batches_module.BatchJobs(settings, store)
    state: dict[str, Engine] = {}
    engine_lock = threading.Lock()

    def shared_engine() -> Engine:
        with engine_lock:  # loaded once, on the first call that needs the model
            if "engine" not in state:
                from contentgen.runtime import build_engine

                state["engine"] = engine or build_engine(settings.model)
            return state["engine"]

    app = FastAPI(title="contentgen API", version="1.0",
                  description="中文营销文案、客服回复、情感标签、广告法检查、批量任务、历史与反馈。"
                              "认证：Authorization: Bearer <API key>。")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        response = _error(exc.status, exc.code, exc.message, request.url.path)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(UserFacingError)
    async def user_error(request: Request, exc: UserFacingError) -> JSONResponse:
        return _error(400, "invalid_input", str(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "；".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or '请求体'}：{e['msg']}"
                         for e in exc.errors()[:5])
        return _error(422, "invalid_request", f"请求格式不正确（{where}）。请对照 /docs 中的接口说明。",
                      request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "没有这个接口或资源。", 405: "不支持该请求方法。"}
        return _error(exc.status_code, f"http_{exc.status_code}", messages.get(exc.status_code, str(exc.detail)),
                      request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal_error", f"服务内部错误（{type(exc).__name__}），请稍后重试或联系管理员。",
                      request.url.path)

    def key_of(header: str) -> str:
        return header[7:].strip() if header.lower().startswith("bearer ") else ""

    def account_of(header: str) -> Account | None:
        key = key_of(header)
        return keys.account(key) if key else None

    app.add_middleware(lambda inner: guarded(inner, account_of=account_of, limit_of=lambda path: (
        MAX_UPLOAD_BYTES if path.startswith("/v1/batch") else MAX_BODY_BYTES)))

    def caller(request: Request) -> Account:
        account = request.scope.get("state", {}).get("account")  # authenticated by the middleware
        if account is None:
            raise ApiError(401, "unauthorized", UNAUTHORIZED)
        # Per key, and per user across all their keys.
        wait = max(limiter.wait(key_of(request.headers.get("authorization", ""))),
                   user_limiter.wait(account.name))
        if wait:
            raise ApiError(429, "rate_limited",
                           f"请求过于频繁：每个账号每分钟最多 {limiter.per_minute} 次，请 {int(wait) + 1} 秒后再试。",
                           headers={"Retry-After": str(int(wait) + 1)})
        return account

    def service_for(account: Account) -> ContentService:
        return build_service(settings, source="api", engine=shared_engine(), store=store, user_name=account.name)

    def allowed(account: Account, task: str) -> None:
        if not account.is_admin and task not in ROLE_TASKS.get(account.role, ()):
            raise ApiError(403, "forbidden", "当前账号的角色不能使用该功能，请联系管理员。")

    def sse(events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingResponse:
        def encode() -> Iterator[bytes]:
            for event, data in events:
                yield f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        return StreamingResponse(encode(), media_type="text/event-stream")

    # -------------------------------------------------------------- tasks (one route each, from the registry)
    def add_task_routes(task: Task) -> None:
        body_type = task_body(task)

        def run(body: body_type, account: Account = Depends(caller)) -> Any:  # type: ignore[valid-type]
            allowed(account, task.name)
            service = service_for(account)
            if task.kind == "classify":
                others = {k: v for k, v in body.model_dump().items() if k not in ("texts", "adapter")}
                requests = [task.build_request({"text": text, **others}) for text in body.texts]
                return [asdict(r) for r in service.run_many(task.name, requests, adapter=body.adapter)]
            return asdict(service.generate(task.name, request_from_body(task, body), adapter=body.adapter))

        app.post(f"/v1/{task.command}", summary=task.summary or task.title, name=task.name)(run)
        if not task.streams:
            return

        def stream(body: body_type, account: Account = Depends(caller)) -> StreamingResponse:  # type: ignore[valid-type]
            allowed(account, task.name)
            return sse(_stream_events(service_for(account).stream(task.name, request_from_body(task, body),
                                                                  adapter=body.adapter)))

        app.post(f"/v1/{task.command}/stream", summary=f"{task.summary or task.title}（SSE 流式）",
                 name=f"{task.name}_stream")(stream)

    for task in with_command():
        add_task_routes(task)
    openai_api.add_openai_routes(app, caller=caller, service_for=service_for, allowed=allowed, engine_of=shared_engine)

    @app.post("/v1/check", summary="广告法合规检查")
    def check(body: CheckBody, account: Account = Depends(caller)) -> dict[str, Any]:
        checked = check_text(store, body.text, brand=body.brand, protected=body.protect, rules=settings.rules,
                             industry=body.industry, platform=body.platform)
        return {**checked, "rewritten": checked["suggested_text"]}

    # -------------------------------------------------------------- batch jobs
    def own_job(job_id: str, account: Account):  # noqa: ANN202
        job = jobs.job(job_id, user_name=None if account.is_admin else account.name)
        if job is None:
            raise ApiError(404, "not_found", f"没有批量任务 {job_id}。")
        return job

    option_names = list(dict.fromkeys(f.name for t in batch_tasks() for f in t.fields if f.job_option))

    def create_batch(file: UploadFile, task: str, columns: str, run: bool, account: Account,
                     **options: str) -> dict[str, Any]:
        allowed(account, task)
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "too_large", f"文件超过上限 {MAX_UPLOAD_BYTES // 1_000_000} MB，请拆分后上传。")
        spec = TASKS[task]
        own_options = {f.name for f in spec.fields if f.job_option}
        created = jobs.create(data, file.filename or "upload.csv", task, user_name=account.name,
                              columns=batches_module.parse_columns(columns),
                              options={k: v for k, v in options.items() if v and k in own_options})
        if run:
            jobs.start(created.job_id)
        problems = [{"row": batches_module.row_number(i), "reason": r} for i, r in sorted(created.problems.items())]
        return {**jobs.status(jobs.job(created.job_id)), "skipped_rows": problems}

    # Form fields: the upload, the task, and every batch task's job options (from the registry).
    parameters = [
        inspect.Parameter("file", inspect.Parameter.KEYWORD_ONLY, annotation=UploadFile, default=File(...)),
        inspect.Parameter("task", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Literal[tuple(t.name for t in batch_tasks())], default=Form(...)),
        inspect.Parameter("columns", inspect.Parameter.KEYWORD_ONLY, annotation=str, default=Form("")),
        inspect.Parameter("run", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=Form(True)),
        inspect.Parameter("account", inspect.Parameter.KEYWORD_ONLY, annotation=Account, default=Depends(caller)),
        *(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str,
                            default=Form("", max_length=100)) for name in option_names),
    ]
    create_batch.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])
    app.post("/v1/batch", summary="上传 CSV/XLSX 创建批量任务（后台运行）")(create_batch)

    @app.get("/v1/batch/{job_id}", summary="批量任务进度")
    def batch_status(job_id: str, account: Account = Depends(caller)) -> dict[str, Any]:
        return jobs.status(own_job(job_id, account))

    @app.post("/v1/batch/{job_id}/resume", summary="继续中断的批量任务")
    def batch_resume(job_id: str, account: Account = Depends(caller)) -> dict[str, Any]:
        jobs.resume(own_job(job_id, account).id)
        return jobs.status(jobs.job(job_id))

    @app.get("/v1/batch/{job_id}/download", summary="下载结果（未完成的行标为待处理）")
    def batch_download(job_id: str, format: Literal["csv", "xlsx"] = "csv",  # noqa: A002
                       account: Account = Depends(caller)) -> Response:
        job = own_job(job_id, account)
        media = "text/csv; charset=utf-8" if format == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(jobs.download(job, format), media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{job.id}.{format}"'})

    # -------------------------------------------------------------- knowledge base (support desk)
    def support(account: Account) -> None:
        allowed(account, "reply")

    @app.get("/v1/faq", summary="知识库条目（含命中次数）")
    def faq_list(account: Account = Depends(caller)) -> list[dict[str, Any]]:
        support(account)
        return [faq_row(e) for e in store.faq.list()]

    @app.post("/v1/faq", summary="新增一条知识")
    def faq_add(body: FaqBody, account: Account = Depends(caller)) -> dict[str, Any]:
        support(account)
        entry_id = add_faq_entry(store, body.question or "", body.answer or "", body.category or "",
                                 direct_answer=bool(body.direct_answer))
        return faq_row(store.faq.get(entry_id))

    @app.patch("/v1/faq/{entry_id}", summary="修改、停用/启用或设为直接回答")
    def faq_edit(entry_id: RowId, body: FaqBody, account: Account = Depends(caller)) -> dict[str, Any]:
        support(account)
        edit_faq_entry(store, entry_id, question=body.question, answer=body.answer, category=body.category,
                       enabled=body.enabled, direct_answer=body.direct_answer)
        return faq_row(store.faq.get(entry_id))

    @app.delete("/v1/faq/{entry_id}", summary="删除一条知识")
    def faq_delete(entry_id: RowId, account: Account = Depends(caller)) -> dict[str, Any]:
        support(account)
        delete_faq_entry(store, entry_id)
        return {"id": entry_id, "deleted": True}

    @app.get("/v1/faq/unanswered", summary="知识库答不上的问题（按次数）")
    def faq_unanswered(account: Account = Depends(caller)) -> list[dict[str, Any]]:
        support(account)
        return unanswered_rows(store)

    @app.post("/v1/faq/unanswered/{question_id}", summary="把一个答不上的问题补成知识条目")
    def faq_answer(question_id: RowId, body: FaqBody, account: Account = Depends(caller)) -> dict[str, Any]:
        support(account)
        entry_id = answer_unanswered(store, question_id, body.answer or "", body.category or "",
                                     question=body.question or "", direct_answer=bool(body.direct_answer))
        return faq_row(store.faq.get(entry_id))

    # -------------------------------------------------------------- review insight and alerts
    def insight_for(account: Account, since: datetime, until: datetime, channel: str, brand: str, summaries: bool):
        allowed(account, "sentiment")
        return service_for(account).sentiment.review_insight(
            aware(since), aware(until), channel=channel or None, brand=brand or None,
            user_name=None if account.is_admin else account.name, summaries=summaries)

    @app.get("/v1/sentiment/insight", summary="评论洞察：各方面的好评/差评说法、差评主题及与上期对比")
    def sentiment_insight(since: datetime, until: datetime, channel: str = Query("", max_length=100),
                          brand: str = Query("", max_length=100), summaries: bool = False,
                          account: Account = Depends(caller)) -> dict[str, Any]:
        insight, _ = insight_for(account, since, until, channel, brand, summaries)
        return insight.as_dict()

    @app.get("/v1/sentiment/insight.xlsx", summary="评论洞察报告（XLSX，可转发）")
    def sentiment_report(since: datetime, until: datetime, channel: str = Query("", max_length=100),
                         brand: str = Query("", max_length=100), summaries: bool = False,
                         account: Account = Depends(caller)) -> Response:
        insight, rows = insight_for(account, since, until, channel, brand, summaries)
        name = f"insight-{aware(since):%Y%m%d}-{aware(until):%Y%m%d}.xlsx"
        return Response(insight_workbook(insight, rows),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/v1/alerts", summary="已发出的负面告警与摘要（管理员）")
    def alerts_sent(limit: int = Query(50, ge=1, le=200), account: Account = Depends(caller)) -> list[dict[str, Any]]:
        if not account.is_admin:  # company-wide figures
            raise ApiError(403, "forbidden", "只有管理员可以查看告警记录。")
        return [notice_row(n) for n in store.notices.recent(limit)]

    # -------------------------------------------------------------- history and feedback
    @app.get("/v1/history", summary="搜索自己的历史（管理员可查所有人）")
    def history(q: str = Query("", max_length=200), task: Literal[tuple(TASKS)] | None = None,  # type: ignore[valid-type]
                limit: int = Query(20, ge=1, le=200), account: Account = Depends(caller)) -> list[dict[str, Any]]:
        rows = store.history.search(q, task=task, user_name=None if account.is_admin else account.name, limit=limit)
        return [history_row(r) for r in rows]

    @app.post("/v1/feedback", summary="评价或修改一条输出")
    def feedback(body: FeedbackBody, account: Account = Depends(caller)) -> dict[str, Any]:
        owner = store.feedback.owner(body.result_id)
        if owner is None or (not account.is_admin and owner != account.name):
            raise ApiError(404, "not_found", f"没有结果 {body.result_id}。")
        if body.rating is None and body.edited_text is None:
            raise ApiError(400, "invalid_input", "请提供 rating（1 或 -1）或 edited_text。")
        store.feedback.set(body.result_id, rating=body.rating, edited_text=body.edited_text)
        return {"result_id": body.result_id, "saved": True}

    return app


def _stream_events(stream) -> Iterator[tuple[str, dict[str, Any]]]:  # noqa: ANN001
    """SSE events: `piece` {index, text} as generated, then `done` with what the history holds."""
    try:
        for index, piece in stream:
            yield "piece", {"index": index, "text": piece}
        result = stream.result()
        yield "done", {"request_id": result.request_id, "outputs": result.outputs, "adapter_id": result.adapter_id,
                       "sources": result.sources, "findings": result.compliance, "parts": result.parts}
    except UserFacingError as exc:
        yield "error", {"code": "invalid_input", "message": str(exc)}
