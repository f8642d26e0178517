"""Training examples for each task, built with the same templates inference uses.

Accepted inputs (JSONL, JSON list, CSV or XLSX):
- the shared splits (`sentiment/*.jsonl`, `adgen/*.jsonl`, `customer_service/*.jsonl`);
- a company's own rows in each task's format (its `training_pair` in contentgen/tasks/):
  copy {product, points, platform, tone, length, copy}, reply {message, context?, order?, faq?, answering?, reply},
  sentiment {text, label}, title {brand, product, points, platform, title};
- LLaMA-Factory alpaca {instruction, input?, output, system?} and sharegpt
  {conversations: [{from, value}], system?} rows.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contentgen.engine.base import Conversation
from contentgen.errors import UserFacingError
from contentgen.inputs import read_table
from contentgen.tasks import Task, get_task


@dataclass(frozen=True)
class Example:
    conversation: Conversation  # system + user turns, as at inference
    answer: str                 # what the model learns to write
    request: Any = None         # the task request it was built from (None: alpaca, sharegpt)


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


def _alpaca(row: dict[str, Any], task: Task) -> Example:
    template = task
    prompt = str(row["instruction"]).strip()
    if str(row.get("input", "")).strip():
        prompt += "\n" + str(row["input"]).strip()
    system = str(row.get("system") or template.system_prompt)
    return Example([{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                   str(row["output"]).strip())


def _sharegpt(row: dict[str, Any], task: Task) -> Example:
    roles = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
             "system": "system"}
    turns = [{"role": roles[t["from"]], "content": str(t["value"])} for t in row["conversations"]]
    if not turns or turns[-1]["role"] != "assistant":
        raise ValueError("sharegpt row must end with an assistant turn")
    system = row.get("system") or task.system_prompt
    if turns[0]["role"] != "system":
        turns.insert(0, {"role": "system", "content": system})
    return Example(turns[:-1], turns[-1]["content"].strip())


def example_from_row(row: dict[str, Any], task: str) -> Example | None:
    """One training example, or None for a row that must not (or cannot) be learned from:
    a user's file may hold malformed rows, and one bad row must not stop a training run."""
    spec = get_task(task)  # an unknown task is the caller's error, not the row's
    try:
        if "conversations" in row:
            return _sharegpt(row, spec)
        if "instruction" in row and "output" in row:
            return _alpaca(row, spec)
        pair = spec.training_pair(row) if spec.training_pair else None
        if pair is None:
            return None
        request, answer = pair
        return Example(spec.conversation(request), answer, request)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def platforms_in(path: Path, task: Task) -> set[str] | None:
    """The platforms a training file covers; None when some rows do not say (alpaca, sharegpt)."""
    platforms = set()
    for row in read_rows(path):
        if "conversations" in row or "instruction" in row:
            return None
        pair = task.training_pair(row) if task.training_pair else None
        if pair is not None:
            platforms.add(pair[0].platform)
    return platforms


def load_examples(path: Path, task: str, *, limit: int | None = None, seed: int = 0,
                  balance: bool = False) -> list[Example]:
    """Examples from a file, shuffled reproducibly; `balance` evens out sentiment labels."""
    rows = read_rows(path)
    examples = [e for e in (example_from_row(r, task) for r in rows) if e is not None]
    unlearnable = get_task(task).unlearnable
    if unlearnable:  # e.g. replies with placeholders; evaluation still scores every test row
        examples = [e for e in examples if not unlearnable(e.answer)]
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
