"""广告法 rewrite of any text: the model edits the flagged words (the rewrite task's prompt), and
whatever it still gets wrong is fixed by rule."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contentgen.tasks.rewrite import TASK as REWRITE
from contentgen.tasks.rewrite import RewriteRequest
from contentgen.usecases.requester import AUTO, as_requester
from contentgen.usecases.results import TaskResult
from db.history import ResultRecord

if TYPE_CHECKING:
    from contentgen.usecases.service import ContentService

@as_requester
def compliant_rewrite(service: ContentService, text: str, checker=None, adapter: str | None = AUTO, *,  # noqa: ANN001
                      brand: str | None = None, protected: Sequence[str] = (), industry: str = "",
                      platform: str = "") -> TaskResult:
    """Ask the model for a compliant version; whatever it still gets wrong is fixed by rule.
    The checker is the brand's (its name and `protected` words kept whole) unless one is given."""
    checker = checker or service.checker_for(brand, protected, industry=industry, platform=platform)
    findings = checker.check(text)
    request = RewriteRequest(text=text, flagged=tuple(dict.fromkeys(f.text for f in findings)))
    request.validate()
    spec = REWRITE
    params = spec.params(request)
    # Its own task: the copy adapter would restyle the text instead of editing the flagged words.
    adapter = service.resolve_adapter(REWRITE.name, adapter)
    started = time.perf_counter()
    generation = service.engine.generate([spec.conversation(request)], params, adapter=adapter)[0]
    rewritten = spec.tidy(request, generation.text)
    if checker.check(rewritten):
        rewritten = checker.rewrite(rewritten)
    latency_ms = (time.perf_counter() - started) * 1000
    request_id = service.record(
        spec, request, params,
        [ResultRecord(text=rewritten, prompt_tokens=generation.prompt_tokens,
                      completion_tokens=generation.completion_tokens, finish_reason=generation.finish_reason)],
        latency_ms, adapter=adapter,
    )
    return TaskResult(request_id, "rewrite", [rewritten], service.engine.model_id, adapter, latency_ms,
                      compliance=[[f.as_dict() for f in checker.check(rewritten)]])

