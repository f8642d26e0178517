"""Sentiment use cases: labelling reviews and the aspects they mention (head, adapter or label
scoring), and the review insight of a period against the one before."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from contentgen.adapters import serves_by_default, trained_on_label_words
from contentgen.engine.base import Engine
from contentgen.errors import UserFacingError
from contentgen.inputs import refuse_unstorable_text
from contentgen.tasks.complaints import ComplaintsRequest
from contentgen.tasks.sentiment import TASK as SENTIMENT
from contentgen.tasks.sentiment import TagRequest
from contentgen.tasks.sentiment.aspects import (
    aspect_clauses,
    industry_aspects,
    load_aspect_sets,
)
from contentgen.tasks.sentiment.head import Head
from contentgen.tasks.sentiment.insight import Insight, build_insight
from contentgen.usecases.requester import AUTO, as_requester
from contentgen.usecases.results import TagResult
from contentgen.usecases.rules import find_brand
from db.batches import BatchItemRef, ItemAlreadyDone
from db.history import ResultRecord
from db.models import aware
from db.trends import sentiment_rows

if TYPE_CHECKING:
    from contentgen.usecases.service import ContentService

MAX_INSIGHT_DAYS = 366
HEAD_ID = "sentiment-head"  # what the history records as the answering "adapter" when the head labels


class SentimentDesk:
    def __init__(self, service: ContentService) -> None:
        self.service = service
        self._aspect_sets: dict[str, dict[str, set[str]]] | None = None

    @property
    def requester(self) -> str:
        return self.service.requester

    def labeller(self, adapter: str | None = AUTO) -> tuple[Head | None, str | None]:
        """(head, adapter) that label sentiment. AUTO: the task's adapter when it was trained on the label
        words (a company's own reviews, or the shipped three-label run), else the head over the base model's
        hidden state (one pass, a calibrated neutral class), else label scoring. A named adapter (or none)
        always scores the label words."""
        if adapter == AUTO:
            location = self.service.engine.adapters.get(SENTIMENT.name)
            if location is not None and serves_by_default(location) and trained_on_label_words(location):
                return None, SENTIMENT.name
            head = self.service.engine.heads.get(SENTIMENT.name)
            if head is not None:
                return head, None
        return None, self.service.resolve_adapter(SENTIMENT.name, adapter)

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
        spec = SENTIMENT
        head, adapter = self.labeller(adapter)
        labels = list(head.labels) if head is not None else list(spec.label_words)
        mentions = [aspect_clauses(r.text, self.aspects_for(r.industry)) if with_aspects else {} for r in requests]
        clause_requests = [TagRequest(text=clause) for m in mentions for clause in m.values()]
        started = time.perf_counter()
        # One pass for the reviews and every aspect clause (grouped by length inside).
        everything = [*requests, *clause_requests]
        scores = sentiment_scores(self.service.engine, [spec.conversation(r) for r in everything], head=head, adapter=adapter,
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
                request_id = self.service.record(
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
        since, until = aware(since), aware(until)  # a time without a zone is UTC
        if until <= since:
            raise UserFacingError("结束时间要晚于开始时间。")
        if until - since > timedelta(days=MAX_INSIGHT_DAYS):
            raise UserFacingError(f"时间范围最长 {MAX_INSIGHT_DAYS} 天，请缩短后重试。")
        try:
            previous_since = since - (until - since)
        except OverflowError:
            raise UserFacingError("开始时间太早，请选择 2000 年以后的时间。") from None
        profile = find_brand(self.service.store, brand, required=True)
        filters = {"channel": channel or None, "user_name": user_name, "brand_id": profile.id if profile else None}
        rows = sentiment_rows(self.service.store.history, since=since, until=until, **filters)
        previous = sentiment_rows(self.service.store.history, since=previous_since, until=since, **filters)
        insight = build_insight(rows, previous, self.aspects, since, until)
        if summaries and insight.topics:
            requests = [ComplaintsRequest(topic=t.topic, reviews=tuple(t.examples)) for t in insight.topics]
            for topic, result in zip(insight.topics, self.service.generate_many("complaint_summary", requests)):
                topic.summary = result.outputs[0]
        return insight, rows

    @property
    def aspect_sets(self) -> dict[str, dict[str, set[str]]]:
        """Industry -> aspect -> keywords (tasks/sentiment/aspects.csv, or the company's own file)."""
        if self._aspect_sets is None:
            self._aspect_sets = load_aspect_sets(self.service.rules.aspects or None)
        return self._aspect_sets

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
    words = SENTIMENT.label_words
    return [{label: scores[word] for label, word in words.items()}
            for scores in engine.score_labels(conversations, list(words.values()), adapter=adapter)]

