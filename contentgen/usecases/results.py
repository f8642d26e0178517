"""What the use cases return to every face."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contentgen.tasks import Prepared


@dataclass
class TaskResult:
    request_id: int | None
    task: str
    outputs: list[str]
    model_id: str
    adapter_id: str | None
    latency_ms: float
    status: str = "ok"
    # Knowledge-base entries the reply was grounded in (support desk).
    sources: list[dict[str, str]] = field(default_factory=list)
    # Per output: the task's findings (广告法, length, missing words…), each with its span.
    compliance: list[list[dict[str, Any]]] = field(default_factory=list)
    brand_id: int | None = None
    # Per output: tokens decoded and why decoding ended ("stop" or "length"); the prompt's tokens.
    completion_tokens: list[int] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    # Per output: the parts a user pastes separately (小红书 title, body, tags…); empty if the task has none.
    parts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TagResult:
    request_id: int | None
    text: str
    label: str
    confidence: float
    scores: dict[str, float]
    adapter_id: str | None = None
    aspects: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Candidates:
    """One request's candidate outputs, tidied and checked, and the engine's generations of them."""

    prepared: Prepared
    texts: list[str]
    findings: list[list[dict[str, Any]]]
    generations: list[Any]


