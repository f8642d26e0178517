"""One route per task of the registry (and its /stream twin), bodies built from the task's fields."""


from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse

from contentgen.api.bodies import request_from_body, task_body
from contentgen.api.context import ApiContext
from contentgen.errors import UserFacingError
from contentgen.tasks import Task, with_command
from contentgen.usecases.accounts import Account


def register(app: FastAPI, api: ApiContext) -> None:
    for task in with_command():
        add_task_routes(app, api, task)


def add_task_routes(app: FastAPI, api: ApiContext, task: Task) -> None:
    body_type = task_body(task)

    def run(body: body_type, account: Account = Depends(api.caller)) -> Any:  # type: ignore[valid-type]
        api.allowed(account, task.name)
        service = api.service_for(account)
        if task.kind == "classify":
            others = {k: v for k, v in body.model_dump().items() if k not in ("texts", "adapter")}
            requests = [task.build_request({"text": text, **others}) for text in body.texts]
            return [asdict(r) for r in service.run_many(task.name, requests, adapter=body.adapter)]
        return asdict(service.generate(task.name, request_from_body(task, body), adapter=body.adapter))

    app.post(f"/v1/{task.command}", summary=task.summary or task.title, name=task.name)(run)
    if not task.streams:
        return

    def stream(body: body_type, account: Account = Depends(api.caller)) -> StreamingResponse:  # type: ignore[valid-type]
        api.allowed(account, task.name)
        return api.sse(_stream_events(api.service_for(account).stream(task.name, request_from_body(task, body),
                                                                      adapter=body.adapter)))

    app.post(f"/v1/{task.command}/stream", summary=f"{task.summary or task.title}（SSE 流式）",
             name=f"{task.name}_stream")(stream)


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

