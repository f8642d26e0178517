"""OpenAI-compatible routes on the contentgen API: GET /v1/models, POST /v1/chat/completions.

Dify, FastGPT or any OpenAI client (base_url=http://<host>:8000/v1, api_key=<contentgen key>)
can then use the base model and each of the company's LoRA adapters, listed as models
"<base>" and "<base>:<adapter>". Same keys, roles, rate limits and history as every other
route; the work is the service's `chat` task. Errors come in OpenAI's shape, so clients show
the Chinese message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from contentgen.api.context import ApiContext
from contentgen.api.guard import error_body
from contentgen.errors import UserFacingError
from contentgen.tasks.chat.task import MAX_CHAT_TOKENS, MAX_CHOICES, ChatRequest


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatCompletionBody(BaseModel):
    model: str
    messages: list[Message] = Field(min_length=1, max_length=200)
    max_tokens: int | None = Field(None, ge=1, le=MAX_CHAT_TOKENS)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_CHAT_TOKENS)
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    n: int = Field(1, ge=1, le=MAX_CHOICES)
    stream: bool = False
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """The text up to the first stop string, and whether one was found."""
    cuts = [text.index(s) for s in stops if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def register(app: FastAPI, api: ApiContext) -> None:
    caller, service_for, allowed, engine_of = api.caller, api.service_for, api.allowed, api.engine

    def model_names() -> dict[str, str | None]:
        engine = engine_of()
        names: dict[str, str | None] = {engine.model_id: None}
        names.update({f"{engine.model_id}:{adapter}": adapter for adapter in sorted(engine.adapters)})
        return names

    def adapter_for(model: str) -> str | None:
        names = model_names()
        if model in names:
            return names[model]
        if model in engine_of().adapters:  # the bare adapter name as well
            return model
        raise UserFacingError(f"没有模型“{model}”。可用：{'、'.join(names)}（GET /v1/models 列出）。")

    @app.get("/v1/models", summary="OpenAI 兼容：可用模型（基础模型与各适配器）")
    def models(account=Depends(caller)) -> dict[str, Any]:  # noqa: ANN001
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "contentgen"}
                                           for name in model_names()]}

    @app.post("/v1/chat/completions", summary="OpenAI 兼容：对话补全（支持 stream）")
    def chat_completions(body: ChatCompletionBody, account=Depends(caller)) -> Any:  # noqa: ANN001
        allowed(account, "chat")
        adapter = adapter_for(body.model)
        request = ChatRequest(
            messages=tuple(("system" if m.role == "developer" else m.role, m.text()) for m in body.messages),
            max_tokens=body.max_completion_tokens or body.max_tokens or 512,
            temperature=body.temperature, top_p=body.top_p, n=body.n, seed=body.seed)
        stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        service = service_for(account)
        created = int(time.time())
        if body.stream:
            stream = service.stream("chat", request, adapter=adapter)
            return StreamingResponse(_chunks(stream, body.model, created, body.n, stops),
                                     media_type="text/event-stream")
        result = service.generate("chat", request, adapter=adapter)
        choices = []
        for index, text in enumerate(result.outputs):
            text, stopped = cut_at_stop(text, stops)
            reason = "stop" if stopped else (result.finish_reasons[index] if result.finish_reasons else "stop")
            choices.append({"index": index, "message": {"role": "assistant", "content": text},
                            "finish_reason": reason, "logprobs": None})
        completion = sum(result.completion_tokens)
        return {"id": f"chatcmpl-{result.request_id}", "object": "chat.completion", "created": created,
                "model": body.model, "choices": choices,
                "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": completion,
                          "total_tokens": result.prompt_tokens + completion}}


def _chunks(stream, model: str, created: int, n: int, stops: list[str]) -> Iterator[str]:  # noqa: ANN001
    """Server-sent events as OpenAI streams them: a role delta, content deltas, a finish, [DONE].

    With stop strings, the last few characters of each choice are held back until it is clear
    they do not start one."""
    held = max((len(s) for s in stops), default=1) - 1
    ident = f"chatcmpl-{created}{id(stream) % 100000}"

    def event(index: int, delta: dict[str, Any], finish: str | None = None) -> str:
        chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    for index in range(n):
        yield event(index, {"role": "assistant", "content": ""})
    texts, sent, stopped = [""] * n, [0] * n, [False] * n
    pieces = iter(stream)
    try:
        for index, piece in pieces:
            if stopped[index]:
                continue
            texts[index] += piece
            text, stopped[index] = cut_at_stop(texts[index], stops)
            ready = len(text) if stopped[index] else max(sent[index], len(text) - held)
            if ready > sent[index]:
                yield event(index, {"content": text[sent[index]:ready]})
                sent[index] = ready
            if all(stopped):
                break
    except UserFacingError as exc:
        yield f"data: {json.dumps(error_body('invalid_input', str(exc), 400), ensure_ascii=False)}\n\n"
        return
    finally:
        pieces.close()
    for index in range(n):
        text, _ = cut_at_stop(texts[index], stops)
        if len(text) > sent[index]:
            yield event(index, {"content": text[sent[index]:]})
        # As the non-streamed route says it: a stop string or the end of the answer, else max_tokens.
        ran_out = index < len(stream.finish_reasons) and stream.finish_reasons[index] == "length"
        yield event(index, {}, "length" if ran_out and not stopped[index] else "stop")
    yield "data: [DONE]\n\n"
