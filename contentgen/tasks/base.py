"""What a task declares, once: its inputs, prompt, decoding, checks, batch columns and training rows.

The faces (CLI, API, UI, batch) build their arguments, request bodies and column mappings
from `Task.fields`; the service runs a task through the hooks below. A task module fills a
`Task` and registers it in `contentgen.tasks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

from contentgen.config import GenerationParams
from contentgen.engine.base import Conversation, Generation
from contentgen.errors import UserFacingError
from contentgen.inputs import parse_context_lines, split_points

MAX_FIELD_CHARS = 2000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_chars(text: str) -> str:
    """A model can emit control characters (a NUL, which PostgreSQL refuses to store): never text.
    Character by character, so streamed pieces cleaned one by one join to the cleaned whole."""
    return _CONTROL_CHARS.sub("", text)

# How a field is typed in by a user, and so how each face reads it.
TEXT = "text"        # one string
LINES = "lines"      # several short strings: comma/line separated in a form, a list in JSON
CHOICE = "choice"    # one of `choices`
INTEGER = "int"      # between `minimum` and `maximum`
TURNS = "turns"      # a conversation so far: [{"role": "customer"|"agent", "text": ...}]
TEXTS = "texts"      # many independent texts (classification input)


@dataclass(frozen=True)
class InputField:
    name: str                    # the request attribute
    label: str                   # what users see (form label, batch column meaning)
    kind: str = TEXT
    help: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    minimum: int = 1
    maximum: int = 8
    max_chars: int = MAX_FIELD_CHARS
    required: bool = False       # the command line insists on it
    # Column names a batch upload may use for it (empty: not a batch column).
    columns: tuple[str, ...] = ()
    # May be set once for a whole batch job (the table's own column wins).
    job_option: bool = False
    # "brands": the value names a brand profile (screens offer the saved profiles to pick from).
    choices_from: str = ""
    # How a form shows it (ui/forms.py): its wording there, an example, values to pick from for a free-text
    # field, and "area" (several lines) or "radio" (a row of choices) where the kind's widget does not fit.
    form_label: str = ""
    placeholder: str = ""
    suggestions: tuple[str, ...] = ()
    widget: str = ""

    def parse_text(self, raw: Any) -> Any:
        """A value typed as text (a form, a command line, a table cell) as the request wants it."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self.default
        if self.kind == LINES:
            return split_points(str(raw)) if isinstance(raw, str) else tuple(str(p).strip() for p in raw if str(p).strip())
        if self.kind == TURNS:  # lines "顾客：…" / "客服：…"
            return tuple(parse_context_lines(raw)) if isinstance(raw, str) else tuple(raw)
        if self.kind == INTEGER:
            try:
                value = int(float(raw))
            except (TypeError, ValueError):
                raise UserFacingError(f"“{self.label}”应为整数，这里是“{raw}”。") from None
            if not self.minimum <= value <= self.maximum:
                raise UserFacingError(f"“{self.label}”应在 {self.minimum} 到 {self.maximum} 之间。")
            return value
        text = str(raw).strip()
        if self.kind == CHOICE and text not in self.choices:
            raise UserFacingError(f"不支持的{self.label}“{text}”，可选：{'、'.join(self.choices)}。")
        return text


class KnowledgeBase(Protocol):
    """The company's FAQ as a task reads it (the support desk implements it)."""

    def search(self, message: str, k: int = 3, earlier: str = "") -> list[Any]:
        """The entries (`FaqHit`s) that best match a message, the customer's earlier turns beside it."""

    def count_hit(self, entry_id: int) -> None:
        """An entry answered a question (the FAQ page shows how often)."""

    def log_unanswered(self, question: str) -> None:
        """A question no entry answers (the knowledge loop)."""


class CheckerFactory(Protocol):
    def __call__(self, profile: Any = None, protected: Sequence[str] = (), *, industry: str = "",
                 platform: str = "") -> Any:
        """The 广告法 checker (`contentgen.compliance.ComplianceChecker`) for a brand profile, with the
        brand's banned words and the `protected` names kept whole."""


class BrandLookup(Protocol):
    def __call__(self, name: str | None, *, required: bool = False) -> Any:
        """The brand profile of that name (`db.models.Brand`), or None; `required`: a Chinese error instead."""


@dataclass(frozen=True)
class TaskContext:
    """What a task may use while it prepares a request, and nothing else of the service."""

    brand: BrandLookup
    checker: CheckerFactory
    knowledge: KnowledgeBase
    engine: Any  # contentgen.engine.base.Engine: scoring passes or a second round


@dataclass
class Prepared:
    """A request ready for the model, with what the service learned on the way."""

    request: Any
    brand_id: int | None = None
    checker: Any = None  # contentgen.compliance.ComplianceChecker for tasks that check 广告法


def _no_prefix(request: Any) -> str:
    return ""


@dataclass(frozen=True)
class Task:
    name: str                    # stored in history rows; the adapter named so answers it
    title: str                   # Chinese name on every screen
    request_type: type
    system_prompt: str
    build_user_prompt: Callable[[Any], str]
    fields: tuple[InputField, ...] = ()
    # "generate" (text out) or "classify" (label scoring, no free text).
    kind: str = "generate"
    # The CLI sub-command and API route (`contentgen copy`, POST /v1/copy); None: no face of its own.
    command: str | None = None
    summary: str = ""            # one line for --help and /docs
    default_params: GenerationParams = field(default_factory=GenerationParams)
    params_for: Callable[[Any], GenerationParams] | None = None
    # The whole conversation, for a task whose caller writes it (the OpenAI-compatible chat);
    # None: system_prompt + build_user_prompt.
    build_conversation: Callable[[Any], Conversation] | None = None
    # Text the answer starts with (the model continues from it), e.g. an apology.
    build_answer_prefix: Callable[[Any], str] = _no_prefix
    label_words: dict[str, str] = field(default_factory=dict)
    # Roles that may run it (admins run everything).
    roles: tuple[str, ...] = ()
    # The UI page (ui/views/<page>.py) and its icon; None: no page of its own.
    page: str | None = None
    icon: str = ""
    # At least one of these fields must be filled (batch: mapped to a column).
    required_any: tuple[str, ...] = ()
    result_columns: tuple[str, ...] = ()
    # Outputs generated per version asked for, and how the versions are picked from them.
    candidates: Callable[[Any], int] | None = None
    # (request, tidied candidates, their findings) -> indices of the versions to return.
    select: Callable[[Any, list[str], list[list[dict[str, Any]]]], list[int]] | None = None
    # A second round when a picked version still has findings: request -> the request its new
    # candidates are generated from (copy: one whose answer opens with the facts); None: none.
    retry: Callable[[Any], Any] | None = None
    # Brand profile, knowledge base, 广告法 checker… (TaskContext, request) -> Prepared.
    prepare: Callable[[TaskContext, Any], Prepared] | None = None
    # Findings for one output (each a dict with start, end, text, category, rule, suggestion).
    check: Callable[[Prepared, str], list[dict[str, Any]]] | None = None
    # A curated answer returned as it is, without the model (a 直接回答 knowledge-base entry); None: generate.
    fixed_answer: Callable[[Any], str | None] | None = None
    # Tidying of one raw model output before it is checked and stored.
    finish: Callable[[Any, str], str] | None = None
    # Fixes by rule after tidying, with what `prepare` learned (the brand's 广告法 checker).
    revise: Callable[[Prepared, str], str] | None = None
    # The parts of one output a user pastes separately (title, body, tags…), or None.
    structure: Callable[[Any, str], dict[str, Any]] | None = None
    # Result columns of one batch row, from the row's outputs and findings.
    batch_output: Callable[[Any], dict[str, Any]] | None = None
    # A training row (a company's file or the shared data) -> (request, answer), or None to skip it.
    training_pair: Callable[[dict[str, Any]], tuple[Any, str] | None] | None = None
    # Answers a training run must not learn (evaluation still scores those rows).
    unlearnable: Callable[[str], bool] | None = None
    # A rated or edited history output -> a training row `training_pair` reads back.
    feedback_row: Callable[[dict[str, Any], str], dict[str, Any]] | None = None
    # The text a history row is searched and shown by.
    input_text: Callable[[Any], str] | None = None
    # How a stored output reads on screen (a sentiment label "negative" -> 负面).
    display: Callable[[str], str] = str
    # Customer text: phone numbers, IDs and addresses are masked before storing.
    masks_personal_data: bool = False
    # Pieces are shown as they are decoded (CLI, API stream, UI); titles and labels are not.
    streams: bool = True

    # -------------------------------------------------------------- requests
    def field(self, name: str) -> InputField:
        return next(f for f in self.fields if f.name == name)

    def build_request(self, values: dict[str, Any]) -> Any:
        """The request from already-typed values (defaults for what is missing)."""
        known = {f.name for f in fields(self.request_type)}
        return self.request_type(**{k: v for k, v in values.items() if k in known and v is not None})

    def request_from_text(self, values: dict[str, Any]) -> Any:
        """The request from values typed as text (forms, command lines, table cells)."""
        typed = {f.name: f.parse_text(values.get(f.name)) for f in self.fields if f.name in values}
        return self.build_request(typed)

    # -------------------------------------------------------------- prompts
    def conversation(self, request: Any) -> Conversation:
        if self.build_conversation:
            return self.build_conversation(request)
        turns = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": self.build_user_prompt(request)},
        ]
        if prefix := self.build_answer_prefix(request):
            turns.append({"role": "assistant", "content": prefix})
        return turns

    def answer_prefix(self, request: Any) -> str:
        return self.build_answer_prefix(request)

    def params(self, request: Any, override: GenerationParams | None = None) -> GenerationParams:
        chosen = override or (self.params_for(request) if self.params_for else self.default_params)
        # Several outputs of one prompt only differ when sampled.
        if self.candidate_count(request) > 1 and not chosen.do_sample:
            chosen = replace(chosen, do_sample=True)
        return chosen

    def versions(self, request: Any) -> int:
        return int(getattr(request, "n", 1) or 1)

    def candidate_count(self, request: Any) -> int:
        return self.candidates(request) if self.candidates else self.versions(request)

    def pick(self, request: Any, texts: Sequence[str], findings: Sequence[list[dict[str, Any]]]) -> list[int]:
        if self.select:
            return self.select(request, list(texts), list(findings))
        return list(range(min(self.versions(request), len(texts))))

    def follow_up(self, request: Any, texts: Sequence[str], findings: Sequence[list[dict[str, Any]]]) -> Any | None:
        """The request for a second round, or None when every picked version is clean."""
        if not self.retry:
            return None
        return self.retry(request) if any(findings[i] for i in self.pick(request, texts, findings)) else None

    def fixed(self, request: Any) -> Generation | None:
        """The curated answer as a generation (no tokens decoded), or None when the model writes one."""
        text = self.fixed_answer(request) if self.fixed_answer else None
        return Generation(text, 0, 0, "stop") if text else None

    def tidy(self, request: Any, text: str) -> str:
        text = without_control_chars(text)
        return self.finish(request, text) if self.finish else text

    def finished(self, prepared: Prepared, raw: str) -> str:
        """A raw output as it is checked, shown and stored."""
        text = self.tidy(prepared.request, raw)
        return self.revise(prepared, text) if self.revise else text

    def parts_of(self, request: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [self.structure(request, t) for t in texts] if self.structure else []

    def text_of(self, request: Any) -> str:
        if self.input_text:
            return self.input_text(request)
        return str(getattr(request, "text", "") or getattr(request, "message", ""))
