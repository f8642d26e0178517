"""The generation pipeline every face calls (CLI, API, UI, batch jobs), for any task of the registry.

It prepares a request (the task's `prepare` with a `TaskContext`: brand profile, knowledge base,
广告法 checker), generates, tidies and checks each output, runs a second round when the picked
versions still have findings, picks the versions to return and records the request with its
results in the history. It names no task: what differs between tasks is in `contentgen/tasks/`.
Beside it: `support` (the knowledge base), `sentiment` (labelling, insight), `rewrite`, `history`,
`rules` and `faq` (administration).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

from contentgen.adapters import covers
from contentgen.config import GenerationParams, RulesConfig
from contentgen.engine.base import Engine
from contentgen.errors import UserFacingError
from contentgen.inputs import refuse_unstorable_text
from contentgen.privacy import mask_personal_data, mask_value
from contentgen.tasks import Prepared, Task, get_task
from contentgen.tasks.base import TaskContext
from contentgen.usecases.requester import AUTO, as_requester
from contentgen.usecases.results import Candidates, TaskResult
from contentgen.usecases.rules import compliance_checker, find_brand
from contentgen.usecases.sentiment import SentimentDesk
from contentgen.usecases.stream import TaskStream
from contentgen.usecases.support import SupportDesk
from db.batches import BatchItemRef, ItemAlreadyDone
from db.database import Database
from db.history import ResultRecord


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
        self.support = SupportDesk(self)
        self.sentiment = SentimentDesk(self)

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

    def record(
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

    def context(self) -> TaskContext:
        """What a task may use while preparing a request."""
        return TaskContext(brand=self.brand_profile, checker=self.compliance_checker, knowledge=self.support,
                           engine=self.engine)

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
        return task.prepare(self.context(), request) if task.prepare else Prepared(request)

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
        request_id = self.record(
            spec, request, params,
            [ResultRecord(text=texts[i], prompt_tokens=generations[i].prompt_tokens,
                          completion_tokens=generations[i].completion_tokens,
                          finish_reason=generations[i].finish_reason) for i in chosen],
            latency_ms, adapter=adapter, brand_id=prepared.brand_id,
        )
        parts = spec.parts_of(request, [texts[i] for i in chosen])
        self.support.notify_handoff(request_id, spec, request, [texts[i] for i in chosen], parts)
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
                    result.request_id = self.record(
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
            return self.sentiment.tag(requests, adapter=adapter, item_for=item_for)
        return self.generate_many(task, requests, adapter=adapter, item_for=item_for)

