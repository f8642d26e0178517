"""Request bodies: each task's from its declared fields, and those of the other routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field, create_model

from contentgen.api.guard import MAX_TEXTS
from contentgen.tasks import Task
from contentgen.tasks.base import CHOICE, INTEGER, LINES, TURNS, InputField


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
