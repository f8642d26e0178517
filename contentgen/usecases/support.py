"""The support desk: the knowledge base a reply is grounded in (`KnowledgeBase` of the reply task)
and the notice sent when a reply is handed over to a person."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from contentgen.notify import post_json
from contentgen.privacy import mask_personal_data
from contentgen.tasks import Task
from contentgen.tasks.reply.knowledge import FaqHit, FaqIndex

if TYPE_CHECKING:
    from contentgen.usecases.service import ContentService

# One index per database and FAQ version, shared by every user's desk (rebuilt when the FAQ changes).
_FAQ_INDEXES: dict[tuple, FaqIndex] = {}


class SupportDesk:
    def __init__(self, service: ContentService) -> None:
        self.service = service

    def notify_handoff(self, request_id: int | None, task: Task, request: Any, texts: Sequence[str],
                       parts: Sequence[dict[str, Any]]) -> None:
        """A JSON POST to the configured webhook when a reply is handed over to a person (in the
        background: a slow or failing receiver never holds up the agent's reply)."""
        if not self.service.handoff_webhook or not parts or not parts[0].get("handoff"):
            return
        payload = {"event": "handoff", "request_id": request_id, "task": task.name,
                   "reason": parts[0].get("handoff_reason", ""), "user": self.service.user_name, "source": self.service.source,
                   "message": mask_personal_data(task.text_of(request)), "reply": mask_personal_data(texts[0]),
                   "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        threading.Thread(target=post_json, args=(self.service.handoff_webhook, payload), daemon=True).start()

    def search(self, message: str, k: int = 3, earlier: str = "") -> list[FaqHit]:
        return self.faq_index().search(message, k=k, earlier=earlier)

    def faq_index(self) -> FaqIndex:
        """The enabled entries' index, rebuilt when an entry is added, edited, switched or deleted."""
        key = (self.service.store.url, self.service.store.faq.version())
        if key not in _FAQ_INDEXES:
            _FAQ_INDEXES.clear()
            _FAQ_INDEXES[key] = FaqIndex(self.service.store.faq.list(enabled_only=True))
        return _FAQ_INDEXES[key]

    def count_hit(self, entry_id: int) -> None:
        self.service.store.faq.count_hit(entry_id)

    def log_unanswered(self, question: str) -> None:
        self.service.store.unanswered.log(mask_personal_data(question))

