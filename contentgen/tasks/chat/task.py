"""对话（OpenAI 兼容）: a chat completion as an OpenAI client asks for it, on the base model or
one of the company's adapters (POST /v1/chat/completions; Dify, FastGPT, the openai package).

No prompt of ours: the client's messages are the conversation. Recorded in history like every
other request, with personal data masked as in support replies (clients send customer text).
"""

from __future__ import annotations

from dataclasses import dataclass

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.tasks.base import Task

ROLES = ("system", "user", "assistant")
MAX_CHAT_CHARS = 24_000
MAX_CHAT_TOKENS = 2048
MAX_CHOICES = 8


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[tuple[str, str], ...] = ()  # (role, content)
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 1.0
    n: int = 1
    seed: int | None = None

    def validate(self) -> None:
        if not any(role == "user" and content.strip() for role, content in self.messages):
            raise UserFacingError("messages 中至少要有一条内容不为空的 user 消息。")
        unknown = {role for role, _ in self.messages} - set(ROLES)
        if unknown:
            raise UserFacingError(f"不支持的消息角色：{'、'.join(sorted(unknown))}（可用 system、user、assistant）。")
        if sum(len(content) for _, content in self.messages) > MAX_CHAT_CHARS:
            raise UserFacingError(f"消息总长超过 {MAX_CHAT_CHARS} 字，请缩短对话历史。")
        if not 1 <= self.max_tokens <= MAX_CHAT_TOKENS:
            raise UserFacingError(f"max_tokens 须在 1 到 {MAX_CHAT_TOKENS} 之间。")
        if not 1 <= self.n <= MAX_CHOICES:
            raise UserFacingError(f"n 须在 1 到 {MAX_CHOICES} 之间。")
        if not 0 <= self.temperature <= 2 or not 0 < self.top_p <= 1:
            raise UserFacingError("temperature 须在 0 到 2 之间，top_p 须大于 0 且不超过 1。")


def chat_params(request: ChatRequest) -> GenerationParams:
    """OpenAI's meaning: temperature 0 is greedy; no penalties a client did not ask for."""
    return GenerationParams(max_new_tokens=request.max_tokens, temperature=request.temperature or 1.0,
                            top_p=request.top_p, top_k=0, repetition_penalty=1.0, no_repeat_ngram_size=0,
                            do_sample=request.temperature > 0, seed=request.seed)


def last_user_message(request: ChatRequest) -> str:
    return next((content for role, content in reversed(request.messages) if role == "user"), "")


TASK = Task(
    name="chat",
    title="对话接口（OpenAI 兼容）",
    request_type=ChatRequest,
    system_prompt="",
    build_user_prompt=last_user_message,
    build_conversation=lambda request: [{"role": role, "content": content} for role, content in request.messages],
    params_for=chat_params,
    roles=("marketing", "support"),
    input_text=last_user_message,
    masks_personal_data=True,
)
