"""What `contentgen eval` runs: a task on a labelled file, copy briefs or grounded replies through the
whole service (history in a scratch database), each with the adapter or head a user names."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from contentgen.config import Settings
from contentgen.errors import UserFacingError
from contentgen.evaluation import BRIEF_TASK, REPLY_TASK
from contentgen.evaluation.evaluate import (
    evaluate,
    evaluate_briefs,
    evaluate_reply_grounded,
    sample_rows,
)
from contentgen.runtime import build_engine, build_service
from contentgen.tasks import get_task
from contentgen.tasks.sentiment.head import Head
from contentgen.usecases.service import ContentService
from db.database import Database


def load_adapter_path(engine: Any, adapter: str, adapter_path: str | None) -> str:
    """An adapter not yet in the adapter folder (measured before it ships), loaded under `adapter`'s
    name, or its folder's name when `adapter` is auto/none; the name to evaluate with."""
    if not adapter_path:
        return adapter
    name = adapter if adapter not in ("auto", "none") else Path(adapter_path).name
    engine.load_adapter(name, adapter_path)
    return name


def scratch_service(settings: Settings, scratch: str) -> ContentService:
    return build_service(settings, source="cli", store=Database(f"sqlite:///{scratch}/eval.db"))


def eval_replies(settings: Settings, data: Path, *, faq: str | None = None, limit: int | None = None, seed: int = 0,
                 adapter: str = "auto", adapter_path: str | None = None,
                 predictions: list[dict] | None = None) -> dict[str, Any]:
    """Support messages through the whole service against their labels; the FAQ (faq.jsonl beside
    the data unless `faq` names one) goes into a scratch knowledge base."""
    faq_path = Path(faq) if faq else Path(data).with_name("faq.jsonl")
    if not faq_path.is_file():
        raise UserFacingError(f"找不到知识库文件“{faq_path}”，请用 --faq 指定。")
    faq_rows = [json.loads(line) for line in faq_path.open(encoding="utf-8") if line.strip()]
    rows = sample_rows(Path(data), limit, seed)
    with tempfile.TemporaryDirectory() as scratch:
        service = scratch_service(settings, scratch)
        adapter = load_adapter_path(service.engine, adapter, adapter_path)
        return {"task": REPLY_TASK, "data": str(data), "model": service.engine.model_id, "adapter": adapter,
                **evaluate_reply_grounded(service, faq_rows, rows, adapter=adapter, predictions=predictions)}


def eval_briefs(settings: Settings, data: Path, *, limit: int | None = None, seed: int = 0, versions: int = 1,
                predictions: list[dict] | None = None) -> dict[str, Any]:
    """Copy briefs through the whole service (best of several, revision, verifier)."""
    rows = sample_rows(Path(data), limit, seed)
    with tempfile.TemporaryDirectory() as scratch:
        service = scratch_service(settings, scratch)
        return {"task": BRIEF_TASK, "data": str(data), "model": service.engine.model_id,
                **evaluate_briefs(service, rows, versions=versions, predictions=predictions)}


def eval_task(settings: Settings, task: str, data: Path, *, limit: int | None = None, seed: int = 0,
              adapter: str = "auto", adapter_path: str | None = None, head_path: str | None = None,
              baseline: bool = False, max_new_tokens: int = 192,
              predictions: list[dict] | None = None) -> dict[str, Any]:
    """A trainable task on a labelled file, labelled as the service labels (a classification task's head
    or adapter, `SentimentDesk.labeller`) or with the head in `head_path`."""
    engine = build_engine(settings.model)
    adapter = load_adapter_path(engine, adapter, adapter_path)
    service = ContentService(engine, None)  # type: ignore[arg-type]  # picks the labeller, stores nothing
    if head_path:
        head, adapter = Head.load(Path(head_path)), None
    elif get_task(task).kind == "classify":
        head, adapter = service.sentiment.labeller(adapter)
    else:
        head, adapter = None, service.resolve_adapter(task, adapter)
    return evaluate(engine, task, Path(data), limit=limit, adapter=adapter, baseline=baseline,
                    max_new_tokens=max_new_tokens, seed=seed, predictions=predictions, head=head)


def run_eval(settings: Settings, task: str, data: str, **options: Any) -> dict[str, Any]:
    """The evaluation `task` names; options are those of the one it runs."""
    if not Path(data).is_file():
        raise UserFacingError(f"找不到评估数据“{data}”，请检查路径。")
    if task == BRIEF_TASK:
        return eval_briefs(settings, Path(data), **{k: options[k] for k in ("limit", "seed", "versions", "predictions")})
    if task == REPLY_TASK:
        return eval_replies(settings, Path(data), **{k: options[k] for k in ("faq", "limit", "seed", "adapter",
                                                                              "adapter_path", "predictions")})
    return eval_task(settings, task, Path(data), **{k: options[k] for k in (
        "limit", "seed", "adapter", "adapter_path", "head_path", "baseline", "max_new_tokens", "predictions")})
