"""广告法 rewrite of any text (the copy pages' 合规改写 button): the rewrite task through the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contentgen.tasks.rewrite import TASK as REWRITE
from contentgen.tasks.rewrite import RewriteRequest
from contentgen.usecases.requester import AUTO
from contentgen.usecases.results import TaskResult

if TYPE_CHECKING:
    from contentgen.usecases.service import ContentService


def compliant_rewrite(service: ContentService, text: str, adapter: str | None = AUTO, *, brand: str = "",
                      protected: Sequence[str] = (), industry: str = "", platform: str = "") -> TaskResult:
    """A compliant version of `text`, checked with the brand's rules (its name and `protected` words kept
    whole); the rewrite task's own adapter, if any: the copy adapter would restyle the text instead."""
    request = RewriteRequest(text=text, brand=brand or "", protected=tuple(p for p in protected if p),
                             industry=industry, platform=platform)
    return service.generate(REWRITE.name, request, adapter=adapter)
