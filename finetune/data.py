"""Training examples for each task, built with the same templates inference uses.

Accepted inputs (JSONL, JSON list, CSV or XLSX):
- the shared splits (`sentiment/*.jsonl`, `adgen/*.jsonl`, `customer_service/*.jsonl`);
- a company's own rows: copy {product, points, platform, tone, length, copy}, reply
  {message, context?, order?, reply}, sentiment {text, label};
- LLaMA-Factory alpaca {instruction, input?, output, system?} and sharegpt
  {conversations: [{from, value}], system?} rows.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contentgen.engine.base import Conversation
from contentgen.errors import UserFacingError
from contentgen.inputs import read_table, split_points
from contentgen.templates import DEFAULT_PLATFORM, CopyRequest, ReplyRequest, TagRequest, get_template

SENTIMENT_LABELS = {"positive", "neutral", "negative"}
# JDDC's anonymisation placeholders ([数字x], [姓名x], [订单x]…): fine in a customer's context,
# but a reply that learned to write them would show an agent "[数字x]天".
ANONYMISED = re.compile(r"\[[^\[\]]{1,6}x\]")


@dataclass(frozen=True)
class Example:
    conversation: Conversation  # system + user turns, as at inference
    answer: str                 # what the model learns to write


def read_rows(path: Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise UserFacingError(f"找不到训练数据“{path}”，请检查路径。")
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if not isinstance(data, list):
            raise UserFacingError("JSON 训练数据应为对象列表。")
        return data
    if path.suffix.lower() == ".jsonl":
        return [json.loads(line) for line in path.open(encoding="utf-8-sig") if line.strip()]
    frame = read_table(path.read_bytes(), path.name)
    return frame.fillna("").to_dict(orient="records")


def _alpaca(row: dict[str, Any], task: str) -> Example:
    template = get_template(task)
    prompt = str(row["instruction"]).strip()
    if str(row.get("input", "")).strip():
        prompt += "\n" + str(row["input"]).strip()
    system = str(row.get("system") or template.system_prompt)
    return Example([{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                   str(row["output"]).strip())


def _sharegpt(row: dict[str, Any], task: str) -> Example:
    roles = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
             "system": "system"}
    turns = [{"role": roles[t["from"]], "content": str(t["value"])} for t in row["conversations"]]
    if not turns or turns[-1]["role"] != "assistant":
        raise ValueError("sharegpt row must end with an assistant turn")
    system = row.get("system") or get_template(task).system_prompt
    if turns[0]["role"] != "system":
        turns.insert(0, {"role": "system", "content": system})
    return Example(turns[:-1], turns[-1]["content"].strip())


def example_from_row(row: dict[str, Any], task: str) -> Example | None:
    """One training example, or None for a row that must not (or cannot) be learned from:
    a user's file may hold malformed rows, and one bad row must not stop a training run."""
    get_template(task)  # an unknown task is the caller's error, not the row's
    try:
        return _example(row, task)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _example(row: dict[str, Any], task: str) -> Example | None:
    if "conversations" in row:
        return _sharegpt(row, task)
    if "instruction" in row and "output" in row:
        return _alpaca(row, task)
    template = get_template(task)
    if task == "sentiment":
        label = str(row.get("label", "")).strip()
        if label not in SENTIMENT_LABELS or not str(row.get("text", "")).strip():
            return None
        return Example(template.conversation(TagRequest(text=str(row["text"]))), template.label_words[label])
    if task == "copy":
        target = str(row.get("summary") or row.get("copy") or row.get("output") or "").strip()
        # AdvertiseGen's <UNK> placeholders must never be learned.
        if not target or "<UNK>" in target:
            return None
        request = CopyRequest(
            product=str(row.get("product", "")), points=split_points(str(row.get("points", ""))),
            attributes=str(row.get("content") or row.get("attributes") or ""),
            platform=str(row.get("platform") or DEFAULT_PLATFORM), tone=str(row.get("tone") or "亲切温暖"),
            length=str(row.get("length") or "中"),
        )
        return Example(template.conversation(request), target)
    if task == "reply":
        target = str(row.get("reply", "")).strip()
        message = str(row.get("customer_message") or row.get("message") or "").strip()
        if not target or not message:
            return None
        context = row.get("context") or []
        if isinstance(context, str):
            context = json.loads(context) if context.strip().startswith("[") else []
        # The shared data repeats the latest message as the context's last turn.
        if context and context[-1].get("text") == message:
            context = context[:-1]
        request = ReplyRequest(message=message, context=tuple(context[-6:]), order=str(row.get("order", "")))
        return Example(template.conversation(request), target)
    return None


def copy_platforms(path: Path) -> set[str] | None:
    """The platforms a copy training file covers; None when some rows do not say (alpaca, sharegpt)."""
    platforms = set()
    for row in read_rows(path):
        if "conversations" in row or "instruction" in row:
            return None
        platforms.add(str(row.get("platform") or DEFAULT_PLATFORM))
    return platforms


def load_examples(path: Path, task: str, *, limit: int | None = None, seed: int = 0,
                  balance: bool = False) -> list[Example]:
    """Examples from a file, shuffled reproducibly; `balance` evens out sentiment labels."""
    rows = read_rows(path)
    examples = [e for e in (example_from_row(r, task) for r in rows) if e is not None]
    if task == "reply":  # learn no placeholder replies; evaluation still scores every test row
        examples = [e for e in examples if not ANONYMISED.search(e.answer)]
    if not examples:
        raise UserFacingError(f"“{path}”中没有可用于“{task}”任务的训练样本，请检查列名。")
    rng = random.Random(seed)
    rng.shuffle(examples)
    if balance:
        examples = list(_round_robin(examples))
    return examples[:limit] if limit else examples


def _round_robin(examples: list[Example]) -> Iterator[Example]:
    by_answer: dict[str, list[Example]] = {}
    for example in examples:
        by_answer.setdefault(example.answer, []).append(example)
    queues = list(by_answer.values())
    while any(queues):
        for queue in queues:
            if queue:
                yield queue.pop()
