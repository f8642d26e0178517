"""Evaluate a task on a test file, with or without an adapter, and SnowNLP as a peer.

    contentgen eval --task sentiment --data ../shared/data/sentiment/test.jsonl --limit 500 --json

`predictions` (a list) collects one row per item, so errors can be read, not just counted.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from contentgen.compliance import GENERAL
from contentgen.engine.base import Engine
from contentgen.evaluation.metrics import (
    classification_scores,
    generation_scores,
    repetition_scores,
)
from contentgen.tasks import get_task
from contentgen.tasks.copy.task import CopyRequest
from contentgen.tasks.reply.checks import (
    ReplyGrounds,
    check_loops,
    check_placeholders,
    check_promises,
    contradicted,
    mentions,
)
from contentgen.tasks.reply.task import ReplyRequest
from contentgen.tasks.sentiment.head import Head
from contentgen.training.data import example_from_row, read_rows
from contentgen.usecases.sentiment import sentiment_scores
from contentgen.usecases.service import ContentService
from db.database import Database


def sample_rows(path: Path, limit: int | None, seed: int = 0) -> list[dict[str, Any]]:
    """A reproducible random subset (the files are ordered by source, so the head is biased)."""
    rows = read_rows(path)
    if limit and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return rows


def accuracy_by_source(predicted: list[str], rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Accuracy per corpus: the test file mixes sources whose label quality differs."""
    by_source: dict[str, list[tuple[str, str]]] = {}
    for label, row in zip(predicted, rows, strict=True):
        by_source.setdefault(str(row.get("source", "unknown")), []).append((label, row["label"]))
    return {source: {"accuracy": classification_scores(*zip(*pairs))["accuracy"], "items": len(pairs)}
            for source, pairs in sorted(by_source.items())}


def evaluate_sentiment(engine: Engine, rows: list[dict[str, Any]], adapter: str | None,
                       predictions: list[dict[str, Any]] | None = None, head: Head | None = None) -> dict[str, Any]:
    """Labels as the service gives them (`service.sentiment_scores`: the head when given, else the
    label words scored with the adapter)."""
    examples = [(row, example_from_row(row, "sentiment")) for row in rows]
    examples = [(row, ex) for row, ex in examples if ex is not None]
    started = time.perf_counter()
    scores = sentiment_scores(engine, [ex.conversation for _, ex in examples], head=head, adapter=adapter,
                              texts=[row["text"] for row, _ in examples])
    seconds = time.perf_counter() - started
    gold = [row["label"] for row, _ in examples]
    predicted = [max(s, key=s.get) for s in scores]
    # Restricted to the labels the file uses (binary files: positive vs negative).
    gold_labels = sorted(set(gold))
    restricted = [max(gold_labels, key=s.get) for s in scores]
    if predictions is not None:
        predictions += [{"id": row.get("id"), "source": row.get("source"), "text": row.get("text"),
                         "gold": row["label"], "prediction": label,
                         "scores": {label_: round(p, 4) for label_, p in s.items()}}
                        for (row, _), label, s in zip(examples, predicted, scores, strict=True)]
    return {
        **classification_scores(predicted, gold),
        "accuracy_gold_labels_only": classification_scores(restricted, gold)["accuracy"],
        "by_source": accuracy_by_source(predicted, [row for row, _ in examples]),
        "items": len(gold),
        "items_per_s": round(len(gold) / seconds, 2),
        "neutral_share": round(predicted.count("neutral") / max(len(predicted), 1), 4),
    }


def evaluate_snownlp(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from snownlp import SnowNLP

    started = time.perf_counter()
    predicted = ["positive" if SnowNLP(r["text"]).sentiments >= 0.5 else "negative" for r in rows]
    seconds = time.perf_counter() - started
    gold = [r["label"] for r in rows]
    return {**classification_scores(predicted, gold), "by_source": accuracy_by_source(predicted, rows),
            "items": len(rows), "items_per_s": round(len(rows) / seconds, 2)}


def evaluate_generation(engine: Engine, task: str, rows: list[dict[str, Any]], adapter: str | None,
                        max_new_tokens: int, predictions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    examples = [ex for ex in (example_from_row(r, task) for r in rows) if ex is not None]
    spec = get_task(task)
    params = replace(spec.default_params, do_sample=False, max_new_tokens=max_new_tokens)
    started = time.perf_counter()
    generations = engine.generate([ex.conversation for ex in examples], params, adapter=adapter)
    seconds = time.perf_counter() - started
    texts = [spec.tidy(ex.request, g.text) if ex.request is not None else g.text
             for ex, g in zip(examples, generations)]
    references = [ex.answer for ex in examples]
    if predictions is not None:
        predictions += [{"prompt": ex.conversation[-1]["content"], "reference": reference, "prediction": text}
                        for ex, text, reference in zip(examples, texts, references, strict=True)]
    result: dict[str, Any] = {
        **generation_scores(texts, references),
        **repetition_scores(texts),
        "items": len(examples),
        "tokens_per_s": round(sum(g.completion_tokens for g in generations) / seconds, 1),
    }
    # Replies: the data README asks for the substantive subset (references over 15 characters) too.
    long_pairs = [(p, r) for p, r in zip(texts, references) if len(r) > 15]
    if long_pairs and len(long_pairs) < len(texts):
        long_scores = generation_scores([p for p, _ in long_pairs], [r for _, r in long_pairs])
        result["long_replies"] = {**long_scores, "items": len(long_pairs)}
    result["samples"] = [{"prediction": p, "reference": r} for p, r in list(zip(texts, references))[:3]]
    return result


def evaluate(engine: Engine, task: str, data: Path, *, limit: int | None = None,
             adapter: str | None = None, baseline: bool = False, max_new_tokens: int = 192,
             seed: int = 0, predictions: list[dict[str, Any]] | None = None, head: Head | None = None) -> dict[str, Any]:
    rows = sample_rows(data, limit, seed)
    result: dict[str, Any] = {"task": task, "data": str(data), "limit": limit, "seed": seed,
                              "model": engine.model_id, "adapter": adapter, "head": bool(head)}
    if get_task(task).kind == "classify":
        result.update(evaluate_sentiment(engine, rows, adapter, predictions, head=head))
        if baseline:
            result["snownlp"] = evaluate_snownlp(rows)
    else:
        result.update(evaluate_generation(engine, task, rows, adapter, max_new_tokens, predictions))
    return result


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, ensure_ascii=False)



def add_brief_brands(service, rows: list[dict[str, Any]]) -> None:  # noqa: ANN001
    """A brand profile for every brand the briefs name, as a user would have made."""
    for brand in sorted({r["brand"] for r in rows if r.get("brand")}):
        if service.store.brands.get(brand) is None:
            service.store.brands.save(brand)


def brief_request(row: dict[str, Any], versions: int = 1):  # noqa: ANN201
    """A copy brief row as the request a user would send."""

    return CopyRequest(product=row.get("product", ""), points=tuple(row.get("points", ())),
                       brand=row.get("brand", ""), platform=row["platform"], tone=row.get("tone", "亲切温暖"),
                       length=row.get("length", "中"), audience=row.get("audience", ""),
                       industry=row.get("industry") or GENERAL, n=versions)


def brief_findings(rows: list[dict[str, Any]], texts: list[str]) -> list[list[dict[str, Any]]]:
    """Today's copy findings (verifier and 广告法) for stored versions of briefs, without a model:
    outputs made under older checks are judged again by the same rules."""

    service = ContentService(engine=None, store=Database("sqlite://"))  # type: ignore[arg-type]  # checks only
    add_brief_brands(service, rows)
    task = get_task("copy")
    return [task.check(service.prepare(task, brief_request(row)), text) for row, text in zip(rows, texts, strict=True)]


def evaluate_briefs(service, rows: list[dict[str, Any]], *, versions: int = 1,  # noqa: ANN001
                    predictions: list[dict[str, Any]] | None = None, progress: bool = True) -> dict[str, Any]:
    """Publishable rate of copy briefs (every check passes, first version), per platform and per check.

    The service runs as a user would: brand profiles for the briefs' brands, best of several
    candidates, revision and the verifier; its history store should be a scratch one."""
    from tqdm import tqdm

    add_brief_brands(service, rows)
    by_platform: dict[str, list[bool]] = {}
    failing: dict[str, int] = {}
    seconds, tokens = 0.0, 0
    for row in tqdm(rows, desc="文案简报", unit="条", disable=not progress):
        request = brief_request(row, versions)
        started = time.perf_counter()
        result = service.generate("copy", request)
        seconds += time.perf_counter() - started
        tokens += sum(result.completion_tokens)
        found = result.compliance[0]
        by_platform.setdefault(row["platform"], []).append(not found)
        for category in {f["category"] for f in found}:
            failing[category] = failing.get(category, 0) + 1
        if predictions is not None:
            predictions.append({**row, "output": result.outputs[0], "parts": result.parts[0] if result.parts else {},
                                "findings": found, "seconds": round(time.perf_counter() - started, 2)})
    passed = [ok for oks in by_platform.values() for ok in oks]
    return {
        "publishable_rate": round(sum(passed) / max(len(passed), 1), 4),
        "by_platform": {p: {"publishable_rate": round(sum(v) / len(v), 4), "items": len(v)}
                        for p, v in sorted(by_platform.items())},
        "failing_check_share": {c: round(n / max(len(passed), 1), 4) for c, n in sorted(failing.items(), key=lambda kv: -kv[1])},
        "items": len(passed),
        "versions": versions,
        "seconds_per_brief": round(seconds / max(len(passed), 1), 2),
        # Tokens of the versions returned per second of the whole call (the discarded candidates cost time too).
        "returned_tokens_per_s": round(tokens / seconds, 1) if seconds else 0.0,
    }


APOLOGY_WORDS = re.compile(r"抱歉|对不起|不好意思|歉意")


def load_faq(service, faq_rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    """The dev FAQ in the service's (scratch) knowledge base; the set's entry ids -> stored entries."""
    service.store.faq.clear()
    service.store.faq.add([(e["question"], e["answer"], e.get("category", "")) for e in faq_rows])
    stored = service.store.faq.list()
    return {str(e["id"]): {"id": str(s.id), "question": s.question, "answer": s.answer}
            for e, s in zip(faq_rows, stored, strict=True)}


def reply_request(row: dict[str, Any]):  # noqa: ANN201

    return ReplyRequest(message=row["message"], context=tuple(row.get("context", ())), order=row.get("order", ""))


def judge_reply(row: dict[str, Any], text: str, used: list[dict[str, Any]], expected: dict[str, Any] | None) -> dict:
    """What the grounded evaluation counts for one reply: the right entry's facts there and nothing
    contradicting it, promises nobody made, loops, an apology."""

    entries = tuple(used) + ((expected,) if expected else ())
    grounds = ReplyGrounds(row["message"], tuple(row.get("context", ())), row.get("order", ""), entries)
    contradictions = contradicted(expected["answer"], text) if expected else []
    return {
        "grounded": bool(expected) and all(mentions(f, text) for f in row.get("facts", ())) and not contradictions,
        "contradictions": contradictions,
        "invented_promise": [f["text"] for f in check_promises(grounds, text)],
        "loop": [f["text"] for f in check_loops(grounds, text) + check_placeholders(grounds, text)],
        "apology": bool(APOLOGY_WORDS.search(text)),
    }


def evaluate_reply_grounded(service, faq_rows: list[dict[str, Any]], rows: list[dict[str, Any]], *,  # noqa: ANN001
                            adapter: str | None = "auto", predictions: list[dict[str, Any]] | None = None,
                            progress: bool = True) -> dict[str, Any]:
    """Replies through the whole service (retrieval, apology decision, candidates, verifier, 转人工)
    against a labelled dev set: grounded-answer rate on the messages an entry answers (the labelled
    facts present, no amount contradicting the entry), invented-promise and loop rates, handoff
    precision and recall, apology rate on calm and upset messages, seconds per reply."""
    from tqdm import tqdm

    entries = load_faq(service, faq_rows)
    judged, seconds = [], 0.0
    for row in tqdm(rows, desc="客服回复", unit="条", disable=not progress):
        started = time.perf_counter()
        result = service.generate("reply", reply_request(row), adapter=adapter)
        took = time.perf_counter() - started
        seconds += took
        text = result.outputs[0]
        parts = result.parts[0] if result.parts else {}
        expected = entries.get(str(row["entry"])) if row.get("entry") is not None else None
        verdict = judge_reply(row, text, list(result.sources), expected)
        verdict["handoff"] = bool(parts.get("handoff"))
        judged.append((row, verdict))
        if predictions is not None:
            predictions.append({**row, "handoff_expected": bool(row.get("handoff")), "output": text,
                                "sources": [s["id"] for s in result.sources],
                                "handoff_reason": parts.get("handoff_reason", ""), **verdict,
                                "findings": result.compliance[0] if result.compliance else [], "seconds": round(took, 2)})

    return {**reply_metrics(judged), "seconds_per_reply": round(seconds / max(len(judged), 1), 2)}


def reply_metrics(judged: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """The grounded-evaluation rates from (labelled row, verdict) pairs (see `evaluate_reply_grounded`)."""
    def rate(flags: list[bool]) -> float:
        return round(sum(flags) / len(flags), 4) if flags else 0.0

    answerable = [v["grounded"] for r, v in judged if r.get("entry") is not None and not r.get("handoff")]
    predicted = [v["handoff"] for _, v in judged]
    wanted = [bool(r.get("handoff")) for r, _ in judged]
    true_positive = sum(p and w for p, w in zip(predicted, wanted))
    return {
        "grounded_answer_rate": rate(answerable),
        "grounded_items": len(answerable),
        "invented_promise_rate": rate([bool(v["invented_promise"]) for _, v in judged]),
        "loop_rate": rate([bool(v["loop"]) for _, v in judged]),
        "handoff_precision": round(true_positive / sum(predicted), 4) if sum(predicted) else 0.0,
        "handoff_recall": round(true_positive / sum(wanted), 4) if sum(wanted) else 0.0,
        "apology_rate_calm": rate([v["apology"] for r, v in judged if not r.get("upset")]),
        "apology_rate_upset": rate([v["apology"] for r, v in judged if r.get("upset")]),
        "items": len(judged),
    }
