"""The service layer: run a task on an engine and record it in the history.

The CLI, the UI (and later the API and batch jobs) call only this module, so every
request lands in the history the same way.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from contentgen.adapters import covers
from contentgen.aspects import aspect_clauses, load_aspects
from contentgen.config import GenerationParams
from contentgen.engine.base import Engine
from contentgen.engine.fair import current_requester
from contentgen.errors import UserFacingError
from contentgen.knowledge import FaqIndex
from contentgen.privacy import mask_personal_data, mask_value
from contentgen.templates import (
    CopyRequest,
    ReplyRequest,
    RewriteRequest,
    TagRequest,
    copy_params,
    get_template,
    with_brand,
)
from db.history import BatchItemRef, HistoryStore, ItemAlreadyDone, ResultRecord

MASKED_TASKS = {"reply"}
UPSET_THRESHOLD = 0.5  # negative-label probability from the sentiment scorer
_FAQ_INDEXES: dict[tuple, FaqIndex] = {}
AUTO = "auto"  # the task's own adapter when one is loaded, else the base model


def compliance_checker(store: HistoryStore, brand: str | None, protected: tuple[str, ...] = ()):  # noqa: ANN201
    """The 广告法 checker with the brand's banned words, and its name kept whole."""
    from contentgen.compliance import ComplianceChecker

    profile = store.brand(brand) if brand else None
    if brand and profile is None:
        raise UserFacingError(f"没有名为“{brand}”的品牌档案，请先在“品牌”页面或用 contentgen brand add 创建。")
    return ComplianceChecker(
        protected_words=[*protected, *([profile.name] if profile else [])],
        banned_words=profile.banned_words if profile else (),
    )


def as_requester(method):  # noqa: ANN001, ANN201
    """Engine calls inside `method` take their turn on the shared model as this service's
    user and source (a user's batch job and their interactive requests are separate turns)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN202
        token = current_requester.set(self.requester)
        try:
            return method(self, *args, **kwargs)
        finally:
            current_requester.reset(token)
    return wrapper


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


@dataclass(frozen=True)
class TagResult:
    request_id: int | None
    text: str
    label: str
    confidence: float
    scores: dict[str, float]
    adapter_id: str | None = None
    aspects: list[dict[str, Any]] = field(default_factory=list)


def _input_text(task: str, request: Any) -> str:
    if isinstance(request, CopyRequest):
        return " ".join([request.product, *request.points, request.attributes]).strip()
    if isinstance(request, ReplyRequest):
        return request.message
    return getattr(request, "text", "")


def _request_params(task: str, request: Any, params: GenerationParams | None) -> GenerationParams:
    if params is not None:
        chosen = params
    elif task == "copy":
        chosen = copy_params(request)
    else:
        chosen = get_template(task).default_params
    # Several variants of the same prompt only differ when sampled.
    if getattr(request, "n", 1) > 1 and not chosen.do_sample:
        chosen = replace(chosen, do_sample=True)
    return chosen


@dataclass
class TaskStream:
    """Iterate for (variant index, text piece); the history row is written when it ends.

    Closing early (a user leaves, Ctrl-C) still records the partial output as cancelled.
    """

    service: "ContentService"
    task: str
    request: Any
    params: GenerationParams
    adapter: str | None = None
    brand_id: int | None = None
    texts: list[str] = field(default_factory=list)
    request_id: int | None = None
    status: str = "running"
    error: str | None = None
    latency_ms: float = 0.0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        template = get_template(self.task)
        n = getattr(self.request, "n", 1)
        conversations = [template.conversation(self.request)] * n
        prefix = template.answer_prefix(self.request)
        self.texts = [prefix] * n
        started = time.perf_counter()
        self.status = "cancelled"
        current_requester.set(self.service.requester)  # this generator runs in the caller's thread
        try:
            if prefix:
                for index in range(n):
                    yield index, prefix
            for index, piece in self.service.engine.stream(conversations, self.params, adapter=self.adapter):
                self.texts[index] += piece
                yield index, piece
            self.status = "ok"
        except Exception as exc:
            self.status, self.error = "error", str(exc)
            raise
        finally:
            self.latency_ms = (time.perf_counter() - started) * 1000
            self.request_id = self.service._record(
                self.task, self.request, self.params,
                [ResultRecord(text=t.strip(), finish_reason=None) for t in self.texts],
                self.latency_ms, status=self.status, error=self.error, adapter=self.adapter,
                brand_id=self.brand_id,
            )

    def result(self) -> TaskResult:
        return TaskResult(self.request_id, self.task, [t.strip() for t in self.texts],
                          self.service.engine.model_id, self.adapter,
                          self.latency_ms, self.status, list(getattr(self.request, "faq", ())))


class ContentService:
    def __init__(
        self,
        engine: Engine,
        store: HistoryStore,
        *,
        user_name: str = "local",
        source: str = "cli",
    ) -> None:
        self.engine = engine
        self.store = store
        self.user_name = user_name
        self.source = source
        self._aspects: dict[str, set[str]] | None = None

    @property
    def requester(self) -> str:
        return f"{self.source}:{self.user_name}"

    def resolve_adapter(self, task: str, adapter: str | None = AUTO, request: object = None) -> str | None:
        """AUTO: the adapter named after the task when loaded and trained for requests like
        this one (`contentgen.adapters.covers`), else the base model."""
        if adapter == AUTO:
            location = self.engine.adapters.get(task)
            return task if location is not None and covers(location, request) else None
        if adapter in (None, "", "none"):
            return None
        if adapter not in self.engine.adapters:
            loaded = "、".join(self.engine.adapters) or "无"
            raise UserFacingError(f"适配器“{adapter}”未加载（已加载：{loaded}）。")
        return adapter

    def _record(
        self,
        task: str,
        request: Any,
        params: GenerationParams | dict[str, Any],
        results: Sequence[ResultRecord],
        latency_ms: float,
        *,
        status: str = "ok",
        error: str | None = None,
        adapter: str | None = None,
        brand_id: int | None = None,
        channel: str = "",
        batch_item: BatchItemRef | None = None,
    ) -> int:
        inputs, input_text = asdict(request), _input_text(task, request)
        if task in MASKED_TASKS:  # customer messages: no phone, ID or address reaches the store
            inputs, input_text = mask_value(inputs), mask_personal_data(input_text)
            results = [replace(r, text=mask_personal_data(r.text)) for r in results]
        return self.store.record(
            task=task,
            inputs=inputs,
            input_text=input_text,
            results=results,
            model_id=self.engine.model_id,
            adapter_id=adapter,
            brand_id=brand_id,
            channel=channel,
            params=params.as_dict() if isinstance(params, GenerationParams) else params,
            user_name=self.user_name,
            latency_ms=latency_ms,
            source=self.source,
            status=status,
            error=error,
            batch_item=batch_item,
        )

    # -------------------------------------------------------------- generation
    def stream(self, task: str, request: CopyRequest | ReplyRequest,
               params: GenerationParams | None = None, adapter: str | None = AUTO,
               brand_id: int | None = None) -> TaskStream:
        request.validate()
        request = self._prepare(task, request)
        return TaskStream(self, task, request, _request_params(task, request, params),
                          self.resolve_adapter(task, adapter, request), brand_id)

    @as_requester
    def generate(self, task: str, request: CopyRequest | ReplyRequest,
                 params: GenerationParams | None = None, adapter: str | None = AUTO,
                 brand_id: int | None = None) -> TaskResult:
        request.validate()
        request = self._prepare(task, request)
        params = _request_params(task, request, params)
        adapter = self.resolve_adapter(task, adapter, request)
        template = get_template(task)
        n = getattr(request, "n", 1)
        started = time.perf_counter()
        prefix = template.answer_prefix(request)
        generations = [replace(g, text=prefix + g.text) for g in
                       self.engine.generate([template.conversation(request)] * n, params, adapter=adapter)]
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = self._record(
            task, request, params,
            [ResultRecord(text=g.text, prompt_tokens=g.prompt_tokens,
                          completion_tokens=g.completion_tokens, finish_reason=g.finish_reason)
             for g in generations],
            latency_ms, adapter=adapter, brand_id=brand_id,
        )
        return TaskResult(request_id, task, [g.text for g in generations],
                          self.engine.model_id, adapter, latency_ms, sources=list(getattr(request, "faq", ())))

    @as_requester
    def generate_many(self, task: str, requests: Sequence[CopyRequest | ReplyRequest],
                      params: GenerationParams | None = None, adapter: str | None = AUTO,
                      brand_id: int | None = None,
                      item_for: Callable[[int, str, Any], BatchItemRef] | None = None) -> list[TaskResult]:
        """One output per request, generated in length-grouped batches (batch jobs).

        `item_for(index, text, prepared_request)` names the batch row a result completes; the row is marked done
        in the same transaction as its history record, and a row done already is not recorded twice.
        """
        for request in requests:
            request.validate()
        requests = [self._prepare(task, r) for r in requests]
        template = get_template(task)
        groups: dict[tuple[GenerationParams, str | None], list[int]] = defaultdict(list)
        for index, request in enumerate(requests):  # e.g. copy lengths differ in max_new_tokens
            groups[_request_params(task, request, params), self.resolve_adapter(task, adapter, request)].append(index)
        results: dict[int, TaskResult] = {}
        for (group_params, group_adapter), indices in groups.items():
            started = time.perf_counter()
            generations = self.engine.generate([template.conversation(requests[i]) for i in indices],
                                               group_params, adapter=group_adapter)
            per_item_ms = (time.perf_counter() - started) * 1000 / len(indices)
            for index, generation in zip(indices, generations):
                text = template.answer_prefix(requests[index]) + generation.text
                try:
                    request_id = self._record(
                        task, requests[index], group_params,
                        [ResultRecord(text=text, prompt_tokens=generation.prompt_tokens,
                                      completion_tokens=generation.completion_tokens,
                                      finish_reason=generation.finish_reason)],
                        per_item_ms, adapter=group_adapter, brand_id=brand_id,
                        batch_item=item_for(index, text, requests[index]) if item_for else None,
                    )
                except ItemAlreadyDone:
                    request_id = None
                results[index] = TaskResult(request_id, task, [text], self.engine.model_id, group_adapter, per_item_ms,
                                            sources=list(getattr(requests[index], "faq", ())))
        return [results[i] for i in range(len(requests))]

    def copy(self, request: CopyRequest, params: GenerationParams | None = None,
             adapter: str | None = AUTO, brand: str | None = None) -> TaskResult:
        """Copy, steered by the named brand profile when given."""
        request, brand_id = self.apply_brand(request, brand)
        return self.generate("copy", request, params, adapter, brand_id)

    def apply_brand(self, request: CopyRequest, brand: str | None) -> tuple[CopyRequest, int | None]:
        if not brand:
            return request, None
        profile = self.store.brand(brand)
        if profile is None:
            raise UserFacingError(f"没有名为“{brand}”的品牌档案，请先在“品牌”页面或用 contentgen brand add 创建。")
        return with_brand(request, profile), profile.id

    def checker_for(self, brand: str | None, protected: tuple[str, ...] = ()):  # noqa: ANN201
        return compliance_checker(self.store, brand, protected)

    def reply(self, request: ReplyRequest, params: GenerationParams | None = None,
              adapter: str | None = AUTO) -> TaskResult:
        return self.generate("reply", request, params, adapter)

    # -------------------------------------------------------------- support desk
    def _prepare(self, task: str, request: Any) -> Any:
        return self.prepare_reply(request) if task == "reply" else request

    @as_requester
    def prepare_reply(self, request: ReplyRequest) -> ReplyRequest:
        """Ground the reply in the knowledge base and open with an apology for an upset customer."""
        faq = request.faq
        if not faq:
            hits = self.faq_index().search(request.message, k=3)
            faq = tuple({"id": str(h.id), "question": h.question, "answer": h.answer} for h in hits)
        apologize = request.apologize or self.is_upset(request.message)
        return replace(request, faq=faq, apologize=apologize)

    def is_upset(self, message: str) -> bool:
        template = get_template("sentiment")
        scores = self.engine.score_labels(
            [template.conversation(TagRequest(text=message))], list(template.label_words.values()),
            adapter=self.resolve_adapter("sentiment"))[0]
        return scores[template.label_words["negative"]] >= UPSET_THRESHOLD

    def faq_index(self) -> FaqIndex:
        entries = self.store.faq()
        key = (self.store.url, len(entries), entries[-1].id if entries else 0)
        if key not in _FAQ_INDEXES:
            _FAQ_INDEXES.clear()
            _FAQ_INDEXES[key] = FaqIndex(entries)
        return _FAQ_INDEXES[key]

    # -------------------------------------------------------------- compliance
    @as_requester
    def compliant_rewrite(self, text: str, checker=None, adapter: str | None = AUTO) -> TaskResult:  # noqa: ANN001
        """Ask the model for a compliant version; whatever it still gets wrong is fixed by rule."""
        from contentgen.compliance import ComplianceChecker

        checker = checker or ComplianceChecker()
        findings = checker.check(text)
        request = RewriteRequest(text=text, flagged=tuple(dict.fromkeys(f.text for f in findings)))
        request.validate()
        params = get_template("rewrite").default_params
        params = replace(params, max_new_tokens=max(params.max_new_tokens, int(len(text) * 1.5)))
        # Its own task: the copy adapter would restyle the text instead of editing the flagged words.
        adapter = self.resolve_adapter("rewrite", adapter)
        started = time.perf_counter()
        generation = self.engine.generate([get_template("rewrite").conversation(request)], params,
                                          adapter=adapter)[0]
        rewritten = generation.text
        if checker.check(rewritten):
            rewritten = checker.rewrite(rewritten)
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = self._record(
            "rewrite", request, params,
            [ResultRecord(text=rewritten, prompt_tokens=generation.prompt_tokens,
                          completion_tokens=generation.completion_tokens,
                          finish_reason=generation.finish_reason)],
            latency_ms, adapter=adapter,
        )
        return TaskResult(request_id, "rewrite", [rewritten], self.engine.model_id, adapter, latency_ms)

    # -------------------------------------------------------------- sentiment
    @as_requester
    def tag(self, texts: Sequence[str], adapter: str | None = AUTO, *, channel: str = "",
            with_aspects: bool = True,
            item_for: Callable[[int, "TagResult"], BatchItemRef] | None = None) -> list[TagResult]:
        """Label each text (and each aspect it mentions) by scoring the label words; record each."""
        requests = [TagRequest(text=t) for t in texts]
        for request in requests:
            request.validate()
        template = get_template("sentiment")
        labels = list(template.label_words)
        words = list(template.label_words.values())
        adapter = self.resolve_adapter("sentiment", adapter)
        mentions = [aspect_clauses(r.text, self.aspects) if with_aspects else {} for r in requests]
        clause_requests = [TagRequest(text=clause) for m in mentions for clause in m.values()]
        started = time.perf_counter()
        # One scoring pass for the reviews and every aspect clause (grouped by length inside).
        scores = self.engine.score_labels(
            [template.conversation(r) for r in [*requests, *clause_requests]], words, adapter=adapter)
        per_item_ms = (time.perf_counter() - started) * 1000 / max(len(requests), 1)
        clause_scores = iter(scores[len(requests):])

        def verdict(word_scores: dict[str, float]) -> tuple[str, float, dict[str, float]]:
            by_label = {label: word_scores[template.label_words[label]] for label in labels}
            best = max(by_label, key=by_label.__getitem__)
            return best, by_label[best], by_label

        results: list[TagResult] = []
        for index, (request, word_scores, mentioned) in enumerate(zip(requests, scores, mentions)):
            best, confidence, by_label = verdict(word_scores)
            aspects = []
            for aspect, clause in mentioned.items():
                aspect_label, aspect_confidence, _ = verdict(next(clause_scores))
                aspects.append({"aspect": aspect, "label": aspect_label,
                                "confidence": round(aspect_confidence, 4), "evidence": clause})
            result = TagResult(None, request.text, best, confidence, by_label, adapter, aspects)
            try:
                request_id = self._record(
                    "sentiment", request, {"method": "label_scoring", "labels": labels},
                    [ResultRecord(text=best, label=best, confidence=confidence, aspects=aspects)],
                    per_item_ms, adapter=adapter, channel=channel,
                    batch_item=item_for(index, result) if item_for else None,
                )
            except ItemAlreadyDone:
                request_id = None
            results.append(replace(result, request_id=request_id))
        return results

    @property
    def aspects(self) -> dict[str, set[str]]:
        if self._aspects is None:
            self._aspects = load_aspects()
        return self._aspects
