"""The service layer: the one use-case layer every face calls (CLI, API, UI, batch jobs).

It runs a task from the registry on an engine: prepares the request (brand profile,
knowledge base), generates or scores, tidies and checks each output, picks the versions
to return and records the request with its results in the history.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from contentgen.adapters import covers, serves_by_default, trained_on_label_words
from contentgen.tasks.sentiment.aspects import aspect_clauses, industry_aspects, load_aspect_sets
from contentgen.config import GenerationParams, RulesConfig
from contentgen.engine.base import Engine, Generation
from contentgen.engine.fair import current_requester
from contentgen.errors import UserFacingError
from contentgen.tasks.sentiment.head import Head
from contentgen.inputs import refuse_unstorable_text
from contentgen.tasks.sentiment.insight import Insight, build_insight
from contentgen.tasks.reply.knowledge import FaqHit, FaqIndex
from contentgen.notify import post_json
from contentgen.privacy import mask_personal_data, mask_value
from contentgen.tasks.reply.checks import sounds_upset
from contentgen.tasks import Prepared, Task, get_task
from contentgen.tasks.base import without_control_chars
from contentgen.tasks.complaints.task import ComplaintsRequest
from contentgen.tasks.reply.task import RELEVANCE_LABELS, relevance_conversation
from contentgen.tasks.rewrite.task import RewriteRequest
from contentgen.tasks.sentiment.task import TagRequest
from db.database import Database
from db.batches import BatchItemRef, ItemAlreadyDone
from db.history import ResultRecord
from db.trends import sentiment_rows

_FAQ_INDEXES: dict[tuple, FaqIndex] = {}
MAX_INSIGHT_DAYS = 366
HEAD_ID = "sentiment-head"  # what the history records as the answering "adapter" when the head labels
AUTO = "auto"  # the task's own adapter when one is loaded, else the base model


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


@dataclass
class TaskStream:
    """Iterate for (version index, text piece); the history row is written when it ends.

    Closing early (a user leaves, Ctrl-C) still records the partial output as cancelled.
    """

    service: "ContentService"
    task: Task
    prepared: Prepared
    params: GenerationParams
    adapter: str | None = None
    texts: list[str] = field(default_factory=list)
    findings: list[list[dict[str, Any]]] = field(default_factory=list)
    request_id: int | None = None
    status: str = "running"
    error: str | None = None
    latency_ms: float = 0.0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """With more candidates than versions (best of several), the chosen versions come whole
        once all are checked; otherwise pieces come as they are decoded."""
        request = self.prepared.request
        fixed = self.task.fixed(request)
        if fixed:  # a curated answer: no model call
            yield from self._fixed(fixed)
            return
        n, count = self.task.versions(request), self.task.candidate_count(request)
        picking = count > n
        conversations = [self.task.conversation(request)] * count
        prefix = self.task.answer_prefix(request)
        drafts = [prefix] * count
        self.texts = drafts[:n]
        started = time.perf_counter()
        self.status = "cancelled"
        current_requester.set(self.service.requester)  # this generator runs in the caller's thread
        try:
            if prefix and not picking:
                for index in range(n):
                    yield index, prefix
            for index, piece in self.service.engine.stream(conversations, self.params, adapter=self.adapter):
                piece = without_control_chars(piece)
                drafts[index] += piece
                if piece and not picking:
                    yield index, piece
            self.status = "ok"
        except Exception as exc:
            self.status, self.error = "error", str(exc)
            raise
        finally:
            self.latency_ms = (time.perf_counter() - started) * 1000
            texts = [self.task.finished(self.prepared, t.strip()) for t in drafts]
            findings = self.service.findings(self.task, self.prepared, texts)
            if picking and self.status == "ok":
                candidates = Candidates(self.prepared, texts, findings, [])
                self.service.second_round(self.task, [candidates], self.params, self.adapter)
                self.latency_ms = (time.perf_counter() - started) * 1000
            chosen = self.task.pick(request, texts, findings) if picking else list(range(n))
            self.texts, self.findings = [texts[i] for i in chosen], [findings[i] for i in chosen]
            self.request_id = self.service._record(
                self.task, request, self.params, [ResultRecord(text=t, finish_reason=None) for t in self.texts],
                self.latency_ms, status=self.status, error=self.error, adapter=self.adapter,
                brand_id=self.prepared.brand_id,
            )
            if self.status == "ok":
                self.service.notify_handoff(self.request_id, self.task, request, self.texts,
                                            self.task.parts_of(request, self.texts))
        if picking:
            for index, text in enumerate(self.texts):
                yield index, text

    def _fixed(self, fixed: Generation) -> Iterator[tuple[int, str]]:
        self.texts, self.status = [fixed.text], "ok"
        self.findings = self.service.findings(self.task, self.prepared, self.texts)
        self.request_id = self.service._record(self.task, self.prepared.request, self.params,
                                               [ResultRecord(text=fixed.text, finish_reason="stop")], 0.0)
        self.service.notify_handoff(self.request_id, self.task, self.prepared.request, self.texts,
                                    self.task.parts_of(self.prepared.request, self.texts))
        yield 0, fixed.text

    def result(self) -> TaskResult:
        return TaskResult(self.request_id, self.task.name, list(self.texts), self.service.engine.model_id,
                          self.adapter, self.latency_ms, self.status,
                          list(getattr(self.prepared.request, "faq", ())), self.findings, self.prepared.brand_id,
                          parts=self.task.parts_of(self.prepared.request, self.texts))


class ContentService:
    def __init__(
        self,
        engine: Engine,
        store: Database,
        *,
        user_name: str = "local",
        source: str = "cli",
        rules: RulesConfig | None = None,
        handoff_webhook: str = "",
    ) -> None:
        self.engine = engine
        self.store = store
        self.user_name = user_name
        self.source = source
        self.rules = rules or RulesConfig()
        self.handoff_webhook = handoff_webhook
        self._aspects: dict[str, dict[str, set[str]]] | None = None

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
        task: Task,
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
        inputs, input_text = asdict(request), task.text_of(request)
        if task.masks_personal_data:  # customer messages: no phone, ID or address reaches the store
            inputs, input_text = mask_value(inputs), mask_personal_data(input_text)
            results = [replace(r, text=mask_personal_data(r.text)) for r in results]
        return self.store.history.record(
            task=task.name,
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
            also=batch_item.mark_done if batch_item is not None else None,
        )

    # -------------------------------------------------------------- brands and checks
    def brand_profile(self, name: str | None, *, required: bool = False):  # noqa: ANN201
        """The brand profile of that name (db.models.Brand), or None; `required`: a Chinese error instead."""
        return find_brand(self.store, name, required=required)

    def compliance_checker(self, profile=None, protected: Sequence[str] = (), *,  # noqa: ANN001, ANN201
                           industry: str = "", platform: str = ""):
        """The 广告法 checker for an industry (the brand's when none is given) and platform, with the
        brand's banned words, and the brand and product names kept whole."""
        return compliance_checker(self.store, self.rules, profile, protected, industry=industry, platform=platform)

    def checker_for(self, brand: str | None, protected: Sequence[str] = (), *,  # noqa: ANN201
                    industry: str = "", platform: str = ""):
        """The checker for a brand named by the user (a Chinese error if there is no such profile)."""
        return self.compliance_checker(self.brand_profile(brand, required=True) if brand else None, protected,
                                       industry=industry, platform=platform)

    def findings(self, task: Task, prepared: Prepared, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        return [task.check(prepared, text) if task.check else [] for text in texts]

    # -------------------------------------------------------------- generation
    def second_round(self, task: Task, rounds: Sequence[Candidates], params: GenerationParams,
                     adapter: str | None) -> None:
        """New candidates (the task's `retry`: for copy, an answer already holding the facts) for each
        request whose picked versions still have findings; one batch for all, added to each request's
        candidates, so the pick can only get better."""
        conversations, owners = [], []
        for owner, own in enumerate(rounds):
            follow = task.follow_up(own.prepared.request, own.texts, own.findings)
            fixed = task.fixed(follow) if follow is not None else None
            if fixed:  # a candidate that needs no model (reply: the answering entry's own words)
                own.texts.append(fixed.text)
                own.findings.append(task.check(own.prepared, fixed.text) if task.check else [])
                own.generations.append(fixed)
            elif follow is not None:
                count = task.candidate_count(own.prepared.request)
                conversations += [task.conversation(follow)] * count
                owners += [(owner, task.answer_prefix(follow))] * count
        if not conversations:
            return
        for (owner, prefix), generation in zip(owners, self.engine.generate(conversations, params, adapter=adapter)):
            own = rounds[owner]
            text = task.finished(own.prepared, prefix + generation.text)
            own.texts.append(text)
            own.findings.append(task.check(own.prepared, text) if task.check else [])
            own.generations.append(generation)

    def prepare(self, task: Task, request: Any) -> Prepared:
        request.validate()
        refuse_unstorable_text(request)
        return task.prepare(self, request) if task.prepare else Prepared(request)

    @as_requester
    def stream(self, task: str, request: Any, params: GenerationParams | None = None,
               adapter: str | None = AUTO) -> TaskStream:
        """Pieces as they are decoded; brand, knowledge base and checks as in `generate`."""
        spec = get_task(task)
        prepared = self.prepare(spec, request)
        return TaskStream(self, spec, prepared, spec.params(prepared.request, params),
                          self.resolve_adapter(task, adapter, prepared.request))

    @as_requester
    def generate(self, task: str, request: Any, params: GenerationParams | None = None,
                 adapter: str | None = AUTO) -> TaskResult:
        spec = get_task(task)
        prepared = self.prepare(spec, request)
        request = prepared.request
        params = spec.params(request, params)
        adapter = self.resolve_adapter(task, adapter, request)
        started = time.perf_counter()
        prefix = spec.answer_prefix(request)
        fixed = spec.fixed(request)
        generations = [fixed] if fixed else \
            self.engine.generate([spec.conversation(request)] * spec.candidate_count(request), params, adapter=adapter)
        texts = [spec.finished(prepared, prefix + g.text) if not fixed else g.text for g in generations]
        candidates = Candidates(prepared, texts, self.findings(spec, prepared, texts), list(generations))
        self.second_round(spec, [candidates], params, adapter)
        texts, findings, generations = candidates.texts, candidates.findings, candidates.generations
        chosen = spec.pick(request, texts, findings)
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = self._record(
            spec, request, params,
            [ResultRecord(text=texts[i], prompt_tokens=generations[i].prompt_tokens,
                          completion_tokens=generations[i].completion_tokens,
                          finish_reason=generations[i].finish_reason) for i in chosen],
            latency_ms, adapter=adapter, brand_id=prepared.brand_id,
        )
        parts = spec.parts_of(request, [texts[i] for i in chosen])
        self.notify_handoff(request_id, spec, request, [texts[i] for i in chosen], parts)
        return TaskResult(request_id, task, [texts[i] for i in chosen], self.engine.model_id, adapter, latency_ms,
                          sources=list(getattr(request, "faq", ())), compliance=[findings[i] for i in chosen],
                          brand_id=prepared.brand_id,
                          completion_tokens=[generations[i].completion_tokens for i in chosen],
                          finish_reasons=[generations[i].finish_reason for i in chosen],
                          prompt_tokens=generations[0].prompt_tokens if generations else 0,
                          parts=parts)

    @as_requester
    def generate_many(self, task: str, requests: Sequence[Any], params: GenerationParams | None = None,
                      adapter: str | None = AUTO,
                      item_for: Callable[[int, TaskResult], BatchItemRef] | None = None) -> list[TaskResult]:
        """The versions of each request, generated in length-grouped batches (batch jobs).

        `item_for(index, result)` names the batch row a result completes; the row is marked done
        in the same transaction as its history record, and a row done already is not recorded twice.
        """
        spec = get_task(task)
        prepared = [self.prepare(spec, r) for r in requests]
        groups: dict[tuple[GenerationParams, str | None], list[int]] = defaultdict(list)
        for index, ready in enumerate(prepared):  # e.g. copy lengths differ in max_new_tokens
            groups[spec.params(ready.request, params), self.resolve_adapter(task, adapter, ready.request)].append(index)
        results: dict[int, TaskResult] = {}
        for (group_params, group_adapter), indices in groups.items():
            conversations, owners = [], []
            by_request: dict[int, list] = defaultdict(list)
            for index in indices:
                fixed = spec.fixed(prepared[index].request)
                if fixed:  # a curated answer: no model call
                    by_request[index].append(fixed)
                    continue
                count = spec.candidate_count(prepared[index].request)
                conversations += [spec.conversation(prepared[index].request)] * count
                owners += [index] * count
            started = time.perf_counter()
            generations = self.engine.generate(conversations, group_params, adapter=group_adapter) if conversations else []
            for owner, generation in zip(owners, generations):
                by_request[owner].append(generation)
            rounds = {}
            for index in indices:
                ready = prepared[index]
                prefix = "" if spec.fixed(ready.request) else spec.answer_prefix(ready.request)
                texts = [spec.finished(ready, prefix + g.text) for g in by_request[index]]
                rounds[index] = Candidates(ready, texts, self.findings(spec, ready, texts), by_request[index])
            self.second_round(spec, list(rounds.values()), group_params, group_adapter)
            per_item_ms = (time.perf_counter() - started) * 1000 / len(indices)
            for index in indices:
                ready, texts, findings, own = prepared[index], rounds[index].texts, rounds[index].findings, \
                    rounds[index].generations
                chosen = spec.pick(ready.request, texts, findings)
                result = TaskResult(None, task, [texts[i] for i in chosen], self.engine.model_id, group_adapter,
                                    per_item_ms, sources=list(getattr(ready.request, "faq", ())),
                                    compliance=[findings[i] for i in chosen], brand_id=ready.brand_id,
                                    parts=spec.parts_of(ready.request, [texts[i] for i in chosen]))
                try:
                    result.request_id = self._record(
                        spec, ready.request, group_params,
                        [ResultRecord(text=texts[i], prompt_tokens=own[i].prompt_tokens,
                                      completion_tokens=own[i].completion_tokens,
                                      finish_reason=own[i].finish_reason) for i in chosen],
                        per_item_ms, adapter=group_adapter, brand_id=ready.brand_id,
                        batch_item=item_for(index, result) if item_for else None,
                    )
                except ItemAlreadyDone:
                    pass
                results[index] = result
        return [results[i] for i in range(len(requests))]

    def run_many(self, task: str, requests: Sequence[Any], adapter: str | None = AUTO,
                 item_for: Callable[[int, Any], BatchItemRef] | None = None) -> list[Any]:
        """Batch rows of any task: generated (TaskResult) or scored (TagResult) by the task's kind."""
        if get_task(task).kind == "classify":
            return self.tag(requests, adapter=adapter, item_for=item_for)
        return self.generate_many(task, requests, adapter=adapter, item_for=item_for)

    def copy(self, request, params: GenerationParams | None = None,  # noqa: ANN001
             adapter: str | None = AUTO, brand: str | None = None) -> TaskResult:
        """Copy, steered by the named brand profile when given."""
        return self.generate("copy", replace(request, brand=brand) if brand else request, params, adapter)

    def reply(self, request, params: GenerationParams | None = None,  # noqa: ANN001
              adapter: str | None = AUTO) -> TaskResult:
        return self.generate("reply", request, params, adapter)

    # -------------------------------------------------------------- support desk
    def notify_handoff(self, request_id: int | None, task: Task, request: Any, texts: Sequence[str],
                       parts: Sequence[dict[str, Any]]) -> None:
        """A JSON POST to the configured webhook when a reply is handed over to a person (in the
        background: a slow or failing receiver never holds up the agent's reply)."""
        if not self.handoff_webhook or not parts or not parts[0].get("handoff"):
            return
        payload = {"event": "handoff", "request_id": request_id, "task": task.name,
                   "reason": parts[0].get("handoff_reason", ""), "user": self.user_name, "source": self.source,
                   "message": mask_personal_data(task.text_of(request)), "reply": mask_personal_data(texts[0]),
                   "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        threading.Thread(target=post_json, args=(self.handoff_webhook, payload), daemon=True).start()

    def faq_hits(self, message: str, k: int = 3, earlier: str = "") -> list[FaqHit]:
        return self.faq_index().search(message, k=k, earlier=earlier)

    def relevance(self, question: str, hit: FaqHit) -> float:
        """How likely a knowledge-base entry asks what the customer asks, as the base model judges
        it (one scoring pass): word overlap alone also finds entries that share a word and answer
        something else."""
        scores = self.engine.score_labels([relevance_conversation(question, hit.question)],
                                          list(RELEVANCE_LABELS), adapter=None)[0]
        return scores[RELEVANCE_LABELS[0]]

    def is_upset(self, message: str) -> bool:
        """Whether the customer is upset (the reply then opens with an apology): words of blame, anger
        or an ultimatum. Not the sentiment scorer: on the grounded dev set it gives calm questions a
        negative probability up to 0.99 (“快递三天了还没到” 0.98), so every reply apologised."""
        return sounds_upset(message)

    def faq_index(self) -> FaqIndex:
        """The enabled entries' index, rebuilt when an entry is added, edited, switched or deleted."""
        key = (self.store.url, self.store.faq.version())
        if key not in _FAQ_INDEXES:
            _FAQ_INDEXES.clear()
            _FAQ_INDEXES[key] = FaqIndex(self.store.faq.list(enabled_only=True))
        return _FAQ_INDEXES[key]

    def count_faq_hit(self, entry_id: int) -> None:
        self.store.faq.count_hit(entry_id)

    def log_unanswered(self, question: str) -> None:
        self.store.unanswered.log(mask_personal_data(question))

    # -------------------------------------------------------------- compliance
    @as_requester
    def compliant_rewrite(self, text: str, checker=None, adapter: str | None = AUTO, *,  # noqa: ANN001
                          brand: str | None = None, protected: Sequence[str] = (), industry: str = "",
                          platform: str = "") -> TaskResult:
        """Ask the model for a compliant version; whatever it still gets wrong is fixed by rule.
        The checker is the brand's (its name and `protected` words kept whole) unless one is given."""
        checker = checker or self.checker_for(brand, protected, industry=industry, platform=platform)
        findings = checker.check(text)
        request = RewriteRequest(text=text, flagged=tuple(dict.fromkeys(f.text for f in findings)))
        request.validate()
        spec = get_task("rewrite")
        params = spec.params(request)
        # Its own task: the copy adapter would restyle the text instead of editing the flagged words.
        adapter = self.resolve_adapter("rewrite", adapter)
        started = time.perf_counter()
        generation = self.engine.generate([spec.conversation(request)], params, adapter=adapter)[0]
        rewritten = spec.tidy(request, generation.text)
        if checker.check(rewritten):
            rewritten = checker.rewrite(rewritten)
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = self._record(
            spec, request, params,
            [ResultRecord(text=rewritten, prompt_tokens=generation.prompt_tokens,
                          completion_tokens=generation.completion_tokens, finish_reason=generation.finish_reason)],
            latency_ms, adapter=adapter,
        )
        return TaskResult(request_id, "rewrite", [rewritten], self.engine.model_id, adapter, latency_ms,
                          compliance=[[f.as_dict() for f in checker.check(rewritten)]])

    # -------------------------------------------------------------- sentiment
    def sentiment_labeller(self, adapter: str | None = AUTO) -> tuple[Head | None, str | None]:
        """(head, adapter) that label sentiment. AUTO: the task's adapter when it was trained on the label
        words (a company's own reviews, or the shipped three-label run), else the head over the base model's
        hidden state (one pass, a calibrated neutral class), else label scoring. A named adapter (or none)
        always scores the label words."""
        if adapter == AUTO:
            location = self.engine.adapters.get("sentiment")
            if location is not None and serves_by_default(location) and trained_on_label_words(location):
                return None, "sentiment"
            head = self.engine.heads.get("sentiment")
            if head is not None:
                return head, None
        return None, self.resolve_adapter("sentiment", adapter)

    @as_requester
    def tag(self, texts: Sequence[str | TagRequest], adapter: str | None = AUTO, *, channel: str = "",
            with_aspects: bool = True,
            item_for: Callable[[int, TagResult], BatchItemRef] | None = None) -> list[TagResult]:
        """Label each text (and each aspect it mentions) by scoring the label words; record each.

        A text may be a TagRequest carrying its own channel; `channel` is the default for the rest."""
        requests = [t if isinstance(t, TagRequest) else TagRequest(text=t) for t in texts]
        requests = [r if r.channel else replace(r, channel=channel) for r in requests]
        for request in requests:
            request.validate()
            refuse_unstorable_text(request)
        spec = get_task("sentiment")
        head, adapter = self.sentiment_labeller(adapter)
        labels = list(head.labels) if head is not None else list(spec.label_words)
        mentions = [aspect_clauses(r.text, self.aspects_for(r.industry)) if with_aspects else {} for r in requests]
        clause_requests = [TagRequest(text=clause) for m in mentions for clause in m.values()]
        started = time.perf_counter()
        # One pass for the reviews and every aspect clause (grouped by length inside).
        everything = [*requests, *clause_requests]
        scores = sentiment_scores(self.engine, [spec.conversation(r) for r in everything], head=head, adapter=adapter,
                                  texts=[r.text for r in everything])
        per_item_ms = (time.perf_counter() - started) * 1000 / max(len(requests), 1)
        clause_scores = iter(scores[len(requests):])
        method = {"method": "head" if head is not None else "label_scoring", "labels": labels}
        source = HEAD_ID if head is not None else adapter

        def verdict(by_label: dict[str, float]) -> tuple[str, float, dict[str, float]]:
            best = max(by_label, key=by_label.__getitem__)
            return best, by_label[best], by_label

        results: list[TagResult] = []
        for index, (request, request_scores, mentioned) in enumerate(zip(requests, scores, mentions)):
            best, confidence, by_label = verdict(request_scores)
            aspects = []
            for aspect, clause in mentioned.items():
                aspect_label, aspect_confidence, _ = verdict(next(clause_scores))
                aspects.append({"aspect": aspect, "label": aspect_label,
                                "confidence": round(aspect_confidence, 4), "evidence": clause})
            result = TagResult(None, request.text, best, confidence, by_label, source, aspects)
            try:
                request_id = self._record(
                    spec, request, method,
                    [ResultRecord(text=best, label=best, confidence=confidence, aspects=aspects)],
                    per_item_ms, adapter=source, channel=request.channel,
                    batch_item=item_for(index, result) if item_for else None,
                )
            except ItemAlreadyDone:
                request_id = None
            results.append(replace(result, request_id=request_id))
        return results

    # -------------------------------------------------------------- review insight
    def review_insight(self, since: datetime, until: datetime, *, channel: str | None = None,
                       brand: str | None = None, user_name: str | None = None,
                       summaries: bool = False) -> tuple[Insight, Any]:
        """The period's insight against the period of the same length before it, and its reviews.
        `user_name`: that user's records only (None: everyone's, for an admin). `summaries`: the
        model writes one sentence per complaint topic (one generation each, greedy)."""
        if until <= since:
            raise UserFacingError("结束时间要晚于开始时间。")
        if until - since > timedelta(days=MAX_INSIGHT_DAYS):
            raise UserFacingError(f"时间范围最长 {MAX_INSIGHT_DAYS} 天，请缩短后重试。")
        try:
            previous_since = since - (until - since)
        except OverflowError:
            raise UserFacingError("开始时间太早，请选择 2000 年以后的时间。") from None
        profile = find_brand(self.store, brand, required=True)
        filters = {"channel": channel or None, "user_name": user_name, "brand_id": profile.id if profile else None}
        rows = sentiment_rows(self.store.history, since=since, until=until, **filters)
        previous = sentiment_rows(self.store.history, since=previous_since, until=since, **filters)
        insight = build_insight(rows, previous, self.aspects, since, until)
        if summaries and insight.topics:
            requests = [ComplaintsRequest(topic=t.topic, reviews=tuple(t.examples)) for t in insight.topics]
            for topic, result in zip(insight.topics, self.generate_many("complaint_summary", requests)):
                topic.summary = result.outputs[0]
        return insight, rows

    @property
    def aspect_sets(self) -> dict[str, dict[str, set[str]]]:
        """Industry -> aspect -> keywords (tasks/sentiment/aspects.csv, or the company's own file)."""
        if self._aspects is None:
            self._aspects = load_aspect_sets(self.rules.aspects or None)
        return self._aspects

    def aspects_for(self, industry: str = "") -> dict[str, set[str]]:
        return industry_aspects(self.aspect_sets, industry)

    @property
    def aspects(self) -> dict[str, set[str]]:
        """Every aspect of every industry with all its keywords: how recorded mentions are read back."""
        merged: dict[str, set[str]] = {}
        for aspects in self.aspect_sets.values():
            for aspect, keywords in aspects.items():
                merged.setdefault(aspect, set()).update(keywords)
        return merged


def sentiment_scores(engine: Engine, conversations: Sequence[Any], *, head: Head | None = None,
                     adapter: str | None = None, texts: Sequence[str] | None = None) -> list[dict[str, float]]:
    """Label -> probability for each sentiment prompt: the head over the hidden state (and its n-gram
    scorer over `texts`, the texts the prompts carry), or the label words scored (with the adapter, if
    any). The service and `contentgen eval` both count this way."""
    if head is not None:
        features = engine.hidden_states(conversations)
        probabilities = head.probabilities(features, list(texts) if texts is not None else None)
        return [dict(zip(head.labels, map(float, row))) for row in probabilities]
    words = get_task("sentiment").label_words
    return [{label: scores[word] for label, word in words.items()}
            for scores in engine.score_labels(conversations, list(words.values()), adapter=adapter)]


def history_row(record) -> dict[str, Any]:  # noqa: ANN001
    """One history row for the CLI (--json), the API and the UI alike; `shown` is how each
    output reads on screen (a sentiment label in Chinese)."""
    from contentgen.tasks import TASKS

    spec = TASKS.get(record.task)
    display = spec.display if spec else str
    return {
        "id": record.id, "created_at": record.created_at.isoformat(), "user": record.user_name,
        "task": record.task, "task_title": spec.title if spec else record.task, "status": record.status,
        "model": record.model_id, "adapter": record.adapter_id, "latency_ms": record.latency_ms,
        "brand_id": record.brand_id, "channel": record.channel, "source": record.source,
        "input": record.input_text, "inputs": record.inputs, "error": record.error, "params": record.params,
        "outputs": [r.text for r in record.results],
        "shown": [display(r.text) for r in record.results],
        "result_ids": [r.id for r in record.results],
        "edits": [r.edited_text for r in record.results],
        "ratings": [r.rating for r in record.results],
        "results": [{"id": r.id, "text": r.text, "shown": display(r.text), "label": r.label, "rating": r.rating,
                     "edited_text": r.edited_text} for r in record.results],
    }


def find_brand(store: Database, name: str | None, *, required: bool = False):  # noqa: ANN201
    """The brand profile of that name, or None; `required`: a Chinese error for a name with no profile."""
    profile = store.brands.get(name) if name else None
    if name and profile is None and required:
        raise UserFacingError(f"没有名为“{name}”的品牌档案，请先在“品牌”页面或用 contentgen brand add 创建。")
    return profile


def search_history(store: Database, query: str = "", **filters: Any) -> list[dict[str, Any]]:
    """History rows as every face shows them, without loading a model (see `history_row`)."""
    return [history_row(r) for r in store.history.search(query, **filters)]


HISTORY_COLUMNS = ["记录号", "时间", "用户", "任务", "输入", "输出", "标签", "状态", "模型", "适配器", "耗时(毫秒)"]


def export_history(records: Sequence[Any], kind: str = "csv") -> bytes:
    """History rows as a spreadsheet a manager can open (CSV with BOM, or XLSX)."""
    import pandas as pd

    from db.export import csv_bytes, xlsx_bytes

    rows = [history_row(r) for r in records]
    frame = pd.DataFrame([[r["id"], r["created_at"][:19].replace("T", " "), r["user"], r["task_title"], r["input"],
                           "\n---\n".join(r["shown"]), ",".join(x["label"] for x in r["results"] if x["label"]),
                           r["status"], r["model"], r["adapter"] or "", round(r["latency_ms"] or 0)] for r in rows],
                         columns=HISTORY_COLUMNS)
    return xlsx_bytes(frame, "历史记录") if kind == "xlsx" else csv_bytes(frame)


def _rule_fields(rule_or_row: Any) -> dict[str, str]:
    """A rule's fields, from a compliance.Rule or a db row alike."""
    from db.rules import RULE_FIELDS

    return {name: getattr(rule_or_row, name) for name in RULE_FIELDS}


def compliance_rules(store: Database, rules: RulesConfig | None = None) -> list:
    """The rules in force: the shipped (or configured) file overlaid by the admin's edits."""
    from contentgen.compliance import Rule, cached_rules, effective_rules

    edited = [(Rule(**_rule_fields(row)), row.enabled) for row in store.rules.list()]
    return effective_rules(cached_rules((rules or RulesConfig()).compliance_rules), edited)


def rule_table(store: Database, rules: RulesConfig | None = None) -> list[dict[str, Any]]:
    """Every rule for the admin's table: the shipped ones and the admin's, each with where it
    comes from and whether it is in force."""
    from contentgen.compliance import cached_rules

    edited = {(row.term, row.industries): row for row in store.rules.list()}
    shipped = cached_rules((rules or RulesConfig()).compliance_rules)
    table = []
    for rule in shipped:
        row = edited.pop(rule.key, None)
        table.append({**_rule_fields(row or rule), "source": "内置（已修改）" if row else "内置", "enabled": row.enabled if row else True})
    table += [{**_rule_fields(row), "source": "管理员新增", "enabled": row.enabled}
              for row in edited.values()]
    return table


def save_rule(store: Database, fields: dict[str, str], *, enabled: bool = True, updated_by: str = "") -> int:
    """Add or edit a rule (the same term and industries replaces it); a Chinese error when it
    cannot work or does not find its own example."""
    from contentgen.compliance import Rule, validate_rule
    from db.rules import RULE_FIELDS

    rule = Rule(**{name: str(fields.get(name, "") or "").strip() for name in RULE_FIELDS})
    validate_rule(rule)
    return store.rules.save(_rule_fields(rule), enabled=enabled, updated_by=updated_by)


def set_rule_enabled(store: Database, term: str, industries: str, enabled: bool, *,
                     rules: RulesConfig | None = None, updated_by: str = "") -> None:
    """Switch a rule on or off; a shipped rule switched off is kept as the admin's edit."""
    row = next((r for r in rule_table(store, rules) if (r["term"], r["industries"]) == (term, industries)), None)
    if row is None:
        raise UserFacingError(f"没有这条规则：“{term}”。")
    save_rule(store, row, enabled=enabled, updated_by=updated_by)


def restore_rule(store: Database, term: str, industries: str) -> bool:
    """Drop the admin's edit of a rule: a shipped rule comes back as shipped, an added one goes."""
    return store.rules.delete(term, industries)


def compliance_checker(store: Database, rules: RulesConfig | None, profile=None,  # noqa: ANN001, ANN201
                       protected: Sequence[str] = (), *, banned: Sequence[str] = (), industry: str = "",
                       platform: str = ""):
    from contentgen.compliance import ComplianceChecker, industry_pack

    industry = industry_pack(industry) or ((profile.industry or "") if profile is not None else "")
    return ComplianceChecker(
        compliance_rules(store, rules),
        protected_words=[*(p for p in protected if p), *([profile.name] if profile else [])],
        banned_words=[*banned, *(profile.banned_words if profile else [])],
        industry=industry, platform=platform)


def check_text(store: Database, text: str, *, brand: str | None = None, protected: Sequence[str] = (),
               banned: Sequence[str] = (), rules: RulesConfig | None = None, industry: str = "",
               platform: str = "") -> dict[str, Any]:
    """广告法 check of any text (no model): findings, and the text with each finding replaced by rule.
    An industry adds its rule pack; a platform limits the platform rules (站外引流) to where they apply."""
    from contentgen.compliance import industry_pack

    if not text.strip():
        raise UserFacingError("请提供要检查的文案（--text 或 --file）。")
    industry_pack(industry)
    profile = find_brand(store, brand, required=True)
    checker = compliance_checker(store, rules, profile, protected, banned=banned, industry=industry, platform=platform)
    findings = checker.check(text)
    return {"compliant": not findings, "findings": [f.as_dict() for f in findings],
            "suggested_text": checker.rewrite(text, findings) if findings else text}


# ------------------------------------------------------------------ knowledge base (support desk)
FAQ_MAX_CHARS = 2000


def faq_row(entry) -> dict[str, Any]:  # noqa: ANN001  (db.models.FaqEntry)
    return {"id": entry.id, "question": entry.question, "answer": entry.answer, "category": entry.category,
            "enabled": entry.enabled, "direct_answer": entry.direct_answer, "hits": entry.hits}


def _checked_entry(question: str | None, answer: str | None, category: str | None) -> None:
    for label, value in (("问题", question), ("答案", answer)):
        if value is not None and not value.strip():
            raise UserFacingError(f"请填写{label}。")
        if value is not None and len(value) > FAQ_MAX_CHARS:
            raise UserFacingError(f"{label}超过 {FAQ_MAX_CHARS} 字，请精简后再保存。")
    if category is not None and len(category) > 100:
        raise UserFacingError("分类不超过 100 字。")


def add_faq_entry(store: Database, question: str, answer: str, category: str = "", *,
                  direct_answer: bool = False) -> int:
    _checked_entry(question, answer, category)
    return store.faq.create(question.strip(), answer.strip(), (category or "").strip(), direct_answer=direct_answer)


def edit_faq_entry(store: Database, entry_id: int, *, question: str | None = None, answer: str | None = None,
                   category: str | None = None, enabled: bool | None = None, direct_answer: bool | None = None) -> None:
    """Edit, switch on or off, or mark 直接回答 one entry; a Chinese error when there is no such entry."""
    _checked_entry(question, answer, category)
    if not store.faq.update(entry_id, question=question.strip() if question else None,
                            answer=answer.strip() if answer else None, category=category,
                            enabled=enabled, direct_answer=direct_answer):
        raise UserFacingError(f"知识库里没有编号为 {entry_id} 的条目。")


def delete_faq_entry(store: Database, entry_id: int) -> None:
    if not store.faq.delete(entry_id):
        raise UserFacingError(f"知识库里没有编号为 {entry_id} 的条目。")


def unanswered_rows(store: Database) -> list[dict[str, Any]]:
    return [{"id": q.id, "question": q.question, "count": q.count, "last_seen": q.last_seen.isoformat()}
            for q in store.unanswered.list()]


def answer_unanswered(store: Database, question_id: int, answer: str, category: str = "", *,
                      question: str = "", direct_answer: bool = False) -> int:
    """Turn a question no entry answered into a knowledge-base entry (one step); the new entry's id."""
    _checked_entry(question or None, answer, category)
    entry_id = store.unanswered.answer(question_id, answer.strip(), (category or "").strip(), question=question,
                                       direct_answer=direct_answer)
    if entry_id is None:
        raise UserFacingError(f"没有编号为 {question_id} 的待补充问题。")
    return entry_id
