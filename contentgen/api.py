"""HTTP API (FastAPI): the same service layer as the UI and CLI, for a company's other systems.

    contentgen api                      # http://127.0.0.1:8000, OpenAPI at /docs and /openapi.json

Every call needs `Authorization: Bearer <key>` (keys: `contentgen apikey create --name 小王`)
and acts as that key's user, with the user's role and history. Errors are JSON
{"code": "...", "message": "中文说明"} with a 4xx status.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from contentgen import batch as batches_module
from contentgen.accounts import ROLE_TASKS, Account, ApiKeyStore
from contentgen.config import Settings, load_settings
from contentgen.engine import Engine
from contentgen.errors import UserFacingError
from contentgen.inputs import split_points
from contentgen.service import ContentService, compliance_checker
from contentgen.templates import DEFAULT_PLATFORM, LENGTHS, PLATFORMS, CopyRequest, ReplyRequest
from db.batches import BatchStore
from db.history import HistoryStore

MAX_BODY_BYTES = 1_000_000  # JSON bodies; uploads for batch jobs get MAX_UPLOAD_BYTES
MAX_UPLOAD_BYTES = 20_000_000
RATE_LIMIT = 60  # requests per key per minute
MAX_TEXTS = 500  # reviews per /v1/tag call; more belong in a batch job


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ------------------------------------------------------------------ request bodies

class CopyBody(BaseModel):
    product: str = Field("", max_length=2000, description="商品名称")
    points: list[str] | str = Field(default_factory=list, description="卖点（列表或逗号分隔）")
    attributes: str = Field("", max_length=2000, description="AdvertiseGen 属性，如 类型#上衣*颜色#白色")
    platform: Literal[tuple(PLATFORMS)] = DEFAULT_PLATFORM  # type: ignore[valid-type]
    tone: str = Field("亲切温暖", max_length=50)
    length: Literal[tuple(LENGTHS)] = "中"  # type: ignore[valid-type]
    n: int = Field(1, ge=1, le=8)
    brand: str | None = Field(None, max_length=100)
    adapter: str = Field("auto", max_length=100)


class Turn(BaseModel):
    role: Literal["customer", "agent"]
    text: str = Field(max_length=4000)


class ReplyBody(BaseModel):
    message: str = Field(max_length=4000, description="顾客最新消息")
    context: list[Turn] = Field(default_factory=list, max_length=50)
    order: str = Field("", max_length=2000)
    adapter: str = Field("auto", max_length=100)


class TagBody(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)
    channel: str = Field("", max_length=100)
    adapter: str = Field("auto", max_length=100)


class CheckBody(BaseModel):
    text: str = Field(max_length=20000)
    brand: str | None = Field(None, max_length=100)
    protect: list[str] = Field(default_factory=list, max_length=50)


class FeedbackBody(BaseModel):
    result_id: int = Field(ge=1, le=2**62)
    rating: Literal[-1, 1] | None = None
    edited_text: str | None = Field(None, max_length=20000)


# ------------------------------------------------------------------ rate limiting

class RateLimiter:
    """Sliding one-minute window per key."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            return True


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               rate_limit: int = RATE_LIMIT) -> FastAPI:
    settings = settings or load_settings()
    store = HistoryStore(settings.database.resolved_url())
    keys, batches, limiter = ApiKeyStore(store), BatchStore(store), RateLimiter(rate_limit)
    state: dict[str, Engine] = {}
    engine_lock = threading.Lock()
    uploads = Path(settings.model.cache_dir) / "batch-uploads"

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
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(UserFacingError)
    async def user_error(_request: Request, exc: UserFacingError) -> JSONResponse:
        return _error(400, "invalid_input", str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "；".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or '请求体'}：{e['msg']}"
                         for e in exc.errors()[:5])
        return _error(422, "invalid_request", f"请求格式不正确（{where}）。请对照 /docs 中的接口说明。")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "没有这个接口或资源。", 405: "不支持该请求方法。"}
        return _error(exc.status_code, f"http_{exc.status_code}", messages.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal_error", f"服务内部错误（{type(exc).__name__}），请稍后重试或联系管理员。")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # noqa: ANN001, ANN202
        limit = MAX_UPLOAD_BYTES if request.url.path.startswith("/v1/batch") else MAX_BODY_BYTES
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _error(413, "too_large", f"请求体超过上限 {limit // 1000} KB。大量数据请使用批量任务（/v1/batch）。")
        return await call_next(request)

    def caller(request: Request) -> Account:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        account = keys.account(key) if key else None
        if account is None:
            raise ApiError(401, "unauthorized", "缺少或无效的 API Key。请在请求头加入 Authorization: Bearer <key>。")
        if not limiter.allow(key):
            raise ApiError(429, "rate_limited", f"请求过于频繁：每个 Key 每分钟最多 {limiter.per_minute} 次，请稍后再试。")
        return account

    def service_for(account: Account) -> ContentService:
        return ContentService(shared_engine(), store, user_name=account.name, source="api")

    def allowed(account: Account, task: str) -> None:
        if not account.is_admin and task not in ROLE_TASKS.get(account.role, ()):
            raise ApiError(403, "forbidden", "当前账号的角色不能使用该功能，请联系管理员。")

    def copy_request(body: CopyBody) -> CopyRequest:
        points = split_points(body.points) if isinstance(body.points, str) else tuple(
            p.strip() for p in body.points if p.strip())
        return CopyRequest(product=body.product, points=points, attributes=body.attributes, platform=body.platform,
                           tone=body.tone, length=body.length, n=body.n)

    def reply_request(body: ReplyBody) -> ReplyRequest:
        return ReplyRequest(message=body.message, order=body.order,
                            context=tuple({"role": t.role, "text": t.text} for t in body.context))

    def sse(events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingResponse:
        def encode() -> Iterator[bytes]:
            for event, data in events:
                yield f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        return StreamingResponse(encode(), media_type="text/event-stream")

    # -------------------------------------------------------------- tasks
    @app.post("/v1/copy", summary="生成营销文案")
    def copy(body: CopyBody, account: Account = Depends(caller)) -> dict[str, Any]:
        allowed(account, "copy")
        service = service_for(account)
        result = service.copy(copy_request(body), adapter=body.adapter, brand=body.brand)
        checker = service.checker_for(body.brand, (body.product,))
        return {**asdict(result), "compliance": [[f.as_dict() for f in checker.check(t)] for t in result.outputs]}

    @app.post("/v1/copy/stream", summary="生成营销文案（SSE 流式）")
    def copy_stream(body: CopyBody, account: Account = Depends(caller)) -> StreamingResponse:
        allowed(account, "copy")
        service = service_for(account)
        request = copy_request(body)
        request.validate()
        request, brand_id = service.apply_brand(request, body.brand)
        return sse(_stream_events(service.stream("copy", request, adapter=body.adapter, brand_id=brand_id)))

    @app.post("/v1/reply", summary="生成客服回复（基于知识库）")
    def reply(body: ReplyBody, account: Account = Depends(caller)) -> dict[str, Any]:
        allowed(account, "reply")
        return asdict(service_for(account).reply(reply_request(body), adapter=body.adapter))

    @app.post("/v1/reply/stream", summary="生成客服回复（SSE 流式）")
    def reply_stream(body: ReplyBody, account: Account = Depends(caller)) -> StreamingResponse:
        allowed(account, "reply")
        request = reply_request(body)
        request.validate()
        return sse(_stream_events(service_for(account).stream("reply", request, adapter=body.adapter)))

    @app.post("/v1/tag", summary="情感标签与方面")
    def tag(body: TagBody, account: Account = Depends(caller)) -> list[dict[str, Any]]:
        allowed(account, "sentiment")
        return [asdict(r) for r in service_for(account).tag(body.texts, adapter=body.adapter, channel=body.channel)]

    @app.post("/v1/check", summary="广告法合规检查")
    def check(body: CheckBody, account: Account = Depends(caller)) -> dict[str, Any]:
        checker = compliance_checker(store, body.brand, tuple(body.protect))
        findings = checker.check(body.text)
        return {"compliant": not findings, "findings": [f.as_dict() for f in findings],
                "rewritten": checker.rewrite(body.text, findings) if findings else body.text}

    # -------------------------------------------------------------- batch jobs
    def own_job(job_id: str, account: Account):  # noqa: ANN202
        job = batches.job(job_id)
        if job is None or (not account.is_admin and job.user_name != account.name):
            raise ApiError(404, "not_found", f"没有批量任务 {job_id}。")
        return job

    def job_status(job) -> dict[str, Any]:  # noqa: ANN001
        progress = batches.progress(job.id)
        return {"job_id": job.id, "task": job.task, "status": job.status, "input": job.input_name,
                "running": batches_module.worker_alive(job), **asdict(progress)}

    def start(job_id: str) -> None:
        batches_module.start_worker(job_id, model=settings.model.name_or_path,
                                    db_url=settings.database.resolved_url(), log_path=uploads / job_id / "worker.log")

    @app.post("/v1/batch", summary="上传 CSV/XLSX 创建批量任务（后台运行）")
    def create_batch(file: UploadFile = File(...), task: Literal["copy", "reply", "sentiment"] = Form(...),
                     columns: str = Form(""), platform: str = Form(""), length: str = Form(""),
                     brand: str = Form(""), channel: str = Form(""), run: bool = Form(True),
                     account: Account = Depends(caller)) -> dict[str, Any]:
        allowed(account, task)
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "too_large", f"文件超过上限 {MAX_UPLOAD_BYTES // 1_000_000} MB，请拆分后上传。")
        name = Path(file.filename or "upload.csv").name
        options = {k: v for k, v in {"platform": platform, "length": length, "brand": brand, "channel": channel}.items() if v}
        created = batches_module.create_job(batches, data, name, task, user_name=account.name,
                                            columns=batches_module.parse_columns(columns), options=options)
        (uploads / created.job_id).mkdir(parents=True, exist_ok=True)
        (uploads / created.job_id / name).write_bytes(data)  # the upload is kept as given
        if run:
            start(created.job_id)
        problems = [{"row": batches_module.row_number(i), "reason": r} for i, r in sorted(created.problems.items())]
        return {**job_status(batches.job(created.job_id)), "skipped_rows": problems}

    @app.get("/v1/batch/{job_id}", summary="批量任务进度")
    def batch_status(job_id: str, account: Account = Depends(caller)) -> dict[str, Any]:
        return job_status(own_job(job_id, account))

    @app.post("/v1/batch/{job_id}/resume", summary="继续中断的批量任务")
    def batch_resume(job_id: str, account: Account = Depends(caller)) -> dict[str, Any]:
        job = own_job(job_id, account)
        if not batches_module.worker_alive(job) and batches.progress(job_id).pending:
            start(job_id)
        return job_status(batches.job(job_id))

    @app.get("/v1/batch/{job_id}/download", summary="下载结果（未完成的行标为待处理）")
    def batch_download(job_id: str, format: Literal["csv", "xlsx"] = "csv",  # noqa: A002
                       account: Account = Depends(caller)) -> Response:
        job = own_job(job_id, account)
        media = "text/csv; charset=utf-8" if format == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(batches_module.output_bytes(batches, job, format), media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{job.id}.{format}"'})

    # -------------------------------------------------------------- history and feedback
    @app.get("/v1/history", summary="搜索自己的历史（管理员可查所有人）")
    def history(q: str = Query("", max_length=200), task: Literal["copy", "reply", "sentiment", "rewrite"] | None = None,
                limit: int = Query(20, ge=1, le=200), account: Account = Depends(caller)) -> list[dict[str, Any]]:
        rows = store.search(q, task=task, user_name=None if account.is_admin else account.name, limit=limit)
        return [{"id": r.id, "created_at": r.created_at.isoformat(), "user": r.user_name, "task": r.task,
                 "input": r.input_text, "status": r.status, "adapter": r.adapter_id,
                 "results": [{"id": x.id, "text": x.text, "label": x.label, "rating": x.rating,
                              "edited_text": x.edited_text} for x in r.results]} for r in rows]

    @app.post("/v1/feedback", summary="评价或修改一条输出")
    def feedback(body: FeedbackBody, account: Account = Depends(caller)) -> dict[str, Any]:
        owner = store.result_owner(body.result_id)
        if owner is None or (not account.is_admin and owner != account.name):
            raise ApiError(404, "not_found", f"没有结果 {body.result_id}。")
        if body.rating is None and body.edited_text is None:
            raise ApiError(400, "invalid_input", "请提供 rating（1 或 -1）或 edited_text。")
        store.set_feedback(body.result_id, rating=body.rating, edited_text=body.edited_text)
        return {"result_id": body.result_id, "saved": True}

    return app


def _stream_events(stream) -> Iterator[tuple[str, dict[str, Any]]]:  # noqa: ANN001
    """SSE events: `piece` {index, text} as generated, then `done` with what the history holds."""
    try:
        for index, piece in stream:
            yield "piece", {"index": index, "text": piece}
        result = stream.result()
        yield "done", {"request_id": result.request_id, "outputs": result.outputs, "adapter_id": result.adapter_id,
                       "sources": result.sources}
    except UserFacingError as exc:
        yield "error", {"code": "invalid_input", "message": str(exc)}
