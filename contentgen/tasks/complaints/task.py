"""差评归纳: one sentence on what a group of negative reviews complains about (the insight report's topics)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.tasks.base import LINES, InputField, Task

MAX_REVIEWS = 8
MAX_REVIEW_CHARS = 120
MAX_SUMMARY_CHARS = 60


@dataclass(frozen=True)
class ComplaintsRequest:
    topic: str = ""
    reviews: tuple[str, ...] = ()

    def validate(self) -> None:
        if not any(r.strip() for r in self.reviews):
            raise UserFacingError("没有可归纳的差评。")


def complaints_user_prompt(request: ComplaintsRequest) -> str:
    listed = "\n".join(f"{i}. {r.strip()[:MAX_REVIEW_CHARS]}"
                       for i, r in enumerate([r for r in request.reviews if r.strip()][:MAX_REVIEWS], start=1))
    return (f"下面是顾客关于“{request.topic}”的差评：\n{listed}\n\n"
            f"用一句话（不超过40字）概括这些差评共同反映的问题。只写评论里说到的事，不要编造原因、数字或解决办法；"
            f"不要分点，不要客套。")


def tidy(request: ComplaintsRequest, text: str) -> str:  # noqa: ARG001
    """The first sentence, without list marks, at most MAX_SUMMARY_CHARS characters."""
    text = re.sub(r"^[\s\-*#\d.、]+", "", text.strip())
    first = re.split(r"(?<=[。！？!?])|[\r\n]", text, maxsplit=1)[0].strip()
    return first[:MAX_SUMMARY_CHARS]


TASK = Task(
    name="complaint_summary",
    title="差评归纳",
    request_type=ComplaintsRequest,
    system_prompt="你是电商评论分析师，用简洁的中文归纳顾客反馈。",
    build_user_prompt=complaints_user_prompt,
    default_params=GenerationParams(max_new_tokens=80, do_sample=False, repetition_penalty=1.05),
    roles=("marketing", "support"),
    fields=(
        InputField("topic", "主题"),
        InputField("reviews", "差评", kind=LINES, help="每行一条"),
    ),
    input_text=lambda r: f"{r.topic}：" + " / ".join(r.reviews),
    finish=tidy,
)
