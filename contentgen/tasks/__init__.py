"""The task registry: the one place that lists the tasks.

A new task is one module here (a `Task`, see `contentgen.tasks.base`) plus one UI page;
the CLI, the API, the UI navigation, the roles, batch jobs, fine-tuning and feedback
export all read this registry.
"""

from __future__ import annotations

from contentgen.errors import UserFacingError
from contentgen.tasks import chat, complaints, copy, reply, rewrite, sentiment, title
from contentgen.tasks.base import InputField, Prepared, Task

TASKS: dict[str, Task] = {module.TASK.name: module.TASK for module in (copy, reply, sentiment, title, rewrite, chat,
                                                                 complaints)}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise UserFacingError(f"未知任务“{name}”，可选：{'、'.join(TASKS)}。") from None


def with_command() -> list[Task]:
    """Tasks a user calls directly (a CLI sub-command and an API route each)."""
    return [t for t in TASKS.values() if t.command]


def batch_tasks() -> list[Task]:
    """Tasks a table can be run through: those with batch columns."""
    return [t for t in TASKS.values() if t.batch_output is not None]


def trainable() -> list[Task]:
    return [t for t in TASKS.values() if t.training_pair is not None]


def tasks_for_role(role: str) -> tuple[str, ...]:
    return tuple(t.name for t in TASKS.values() if role in t.roles)


def titles() -> dict[str, str]:
    return {t.name: t.title for t in TASKS.values()}


__all__ = ["TASKS", "InputField", "Prepared", "Task", "batch_tasks", "get_task", "tasks_for_role", "titles",
           "trainable", "with_command"]

# The request types, for callers that build requests directly (tests, scripts, bench).
from contentgen.tasks.chat.task import ChatRequest  # noqa: E402
from contentgen.tasks.copy.task import CopyRequest  # noqa: E402
from contentgen.tasks.reply.task import ReplyRequest  # noqa: E402
from contentgen.tasks.rewrite.task import RewriteRequest  # noqa: E402
from contentgen.tasks.sentiment.task import TagRequest  # noqa: E402
from contentgen.tasks.title.task import TitleRequest  # noqa: E402

__all__ += ["ChatRequest", "CopyRequest", "ReplyRequest", "RewriteRequest", "TagRequest", "TitleRequest"]
