"""合规改写: copy rewritten without its 广告法 findings, keeping meaning and tone (the copy pages' button).

It runs through the pipeline like every task: `prepare` builds the brand's 广告法 checker and names the
flagged words, the model edits them, `revise` fixes by rule what it still gets wrong, `check` reports
what is left."""

from __future__ import annotations

from dataclasses import dataclass, replace

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.tasks.base import MAX_FIELD_CHARS, Prepared, Task, TaskContext
from contentgen.tasks.copy.task import SYSTEM_PROMPT


@dataclass(frozen=True)
class RewriteRequest:
    text: str = ""
    # The checker's wording: the brand profile (its name kept whole, its banned words), other names
    # kept whole, the industry pack and the platform.
    brand: str = ""
    protected: tuple[str, ...] = ()
    industry: str = ""
    platform: str = ""
    # Filled by `prepare`: what the checker found in the text.
    flagged: tuple[str, ...] = ()

    def validate(self) -> None:
        if not self.text.strip():
            raise UserFacingError("没有需要改写的文案。")
        if len(self.text) > MAX_FIELD_CHARS * 2:
            raise UserFacingError(f"文案超过 {MAX_FIELD_CHARS * 2} 字，请分段改写。")


def rewrite_user_prompt(request: RewriteRequest) -> str:
    terms = "、".join(f"“{t}”" for t in request.flagged) or "绝对化用语和功效宣称"
    return (
        f"下面的营销文案含有违反《广告法》的表述：{terms}。请改写这段文案：删去或替换这些表述，"
        f"不使用任何绝对化用语、医疗用语或无法证实的功效承诺，保持原有的信息、语气和篇幅。只输出改写后的文案。\n\n"
        f"原文案：\n{request.text.strip()}"
    )


def prepare(context: TaskContext, request: RewriteRequest) -> Prepared:
    profile = context.brand(request.brand, required=True) if request.brand else None
    checker = context.checker(profile, request.protected, industry=request.industry, platform=request.platform)
    flagged = tuple(dict.fromkeys(f.text for f in checker.check(request.text)))
    return Prepared(replace(request, flagged=flagged), profile.id if profile else None, checker)


def revise(prepared: Prepared, text: str) -> str:
    """Whatever the model still gets wrong is fixed by rule."""
    return prepared.checker.rewrite(text) if prepared.checker.check(text) else text


def check(prepared: Prepared, text: str) -> list[dict]:
    return [f.as_dict() for f in prepared.checker.check(text)]


DEFAULT_PARAMS = GenerationParams(max_new_tokens=400, do_sample=False, repetition_penalty=1.05, no_repeat_ngram_size=0)

TASK = Task(
    name="rewrite",
    title="合规改写",
    request_type=RewriteRequest,
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=rewrite_user_prompt,
    default_params=DEFAULT_PARAMS,
    params_for=lambda request: replace(DEFAULT_PARAMS, max_new_tokens=max(DEFAULT_PARAMS.max_new_tokens,
                                                                          int(len(request.text) * 1.5))),
    roles=("marketing",),
    prepare=prepare,
    revise=revise,
    check=check,
    input_text=lambda r: r.text,
)
