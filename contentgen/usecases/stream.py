"""A generation streamed to a face, recorded when it ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contentgen.config import GenerationParams
from contentgen.engine.base import Generation
from contentgen.engine.fair import current_requester
from contentgen.tasks import Prepared, Task
from contentgen.tasks.base import without_control_chars
from contentgen.usecases.results import Candidates, TaskResult
from db.history import ResultRecord

if TYPE_CHECKING:
    from contentgen.usecases.service import ContentService


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
    # Per returned version: "stop" or "length" (max_new_tokens reached), once the stream has ended.
    finish_reasons: list[str] = field(default_factory=list)

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
        streamed: list[str] = []
        self.status = "cancelled"
        current_requester.set(self.service.requester)  # this generator runs in the caller's thread
        try:
            if prefix and not picking:
                for index in range(n):
                    yield index, prefix
            for index, piece in self.service.engine.stream(conversations, self.params, adapter=self.adapter,
                                                           finish_reasons=streamed):
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
            reasons = streamed or [None] * len(texts)  # None: the stream did not run to its end
            if picking and self.status == "ok":
                candidates = Candidates(self.prepared, texts, findings, [])
                self.service.second_round(self.task, [candidates], self.params, self.adapter)
                reasons = reasons + [g.finish_reason for g in candidates.generations]
                self.latency_ms = (time.perf_counter() - started) * 1000
            chosen = self.task.pick(request, texts, findings) if picking else list(range(n))
            self.texts, self.findings = [texts[i] for i in chosen], [findings[i] for i in chosen]
            self.finish_reasons = [reasons[i] for i in chosen]
            self.request_id = self.service.record(
                self.task, request, self.params,
                [ResultRecord(text=t, finish_reason=r) for t, r in zip(self.texts, self.finish_reasons, strict=True)],
                self.latency_ms, status=self.status, error=self.error, adapter=self.adapter,
                brand_id=self.prepared.brand_id,
            )
            if self.status == "ok":
                self.service.support.notify_handoff(self.request_id, self.task, request, self.texts,
                                            self.task.parts_of(request, self.texts))
        if picking:
            for index, text in enumerate(self.texts):
                yield index, text

    def _fixed(self, fixed: Generation) -> Iterator[tuple[int, str]]:
        self.texts, self.status, self.finish_reasons = [fixed.text], "ok", ["stop"]
        self.findings = self.service.findings(self.task, self.prepared, self.texts)
        self.request_id = self.service.record(self.task, self.prepared.request, self.params,
                                               [ResultRecord(text=fixed.text, finish_reason="stop")], 0.0)
        self.service.support.notify_handoff(self.request_id, self.task, self.prepared.request, self.texts,
                                    self.task.parts_of(self.prepared.request, self.texts))
        yield 0, fixed.text

    def result(self) -> TaskResult:
        return TaskResult(self.request_id, self.task.name, list(self.texts), self.service.engine.model_id,
                          self.adapter, self.latency_ms, self.status,
                          list(getattr(self.prepared.request, "faq", ())), self.findings, self.prepared.brand_id,
                          finish_reasons=[r or "stop" for r in self.finish_reasons],
                          parts=self.task.parts_of(self.prepared.request, self.texts))

