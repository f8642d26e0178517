"""One model, many users: callers take turns by requester (round robin), FIFO within one.

A plain lock lets whoever grabs it first win again and again; with a batch job and several
support agents on one server, a fair turn order keeps an agent's quick reply from waiting
behind a whole batch.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager

# Who the current engine call is for (the service sets it; threads the engine starts get it passed).
current_requester: contextvars.ContextVar[str] = contextvars.ContextVar("current_requester", default="")


class FairLock:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._waiting: OrderedDict[str, deque[object]] = OrderedDict()
        self._held = False
        self.grants: list[str] = []  # turn order, kept short (tests and diagnostics)

    def locked(self) -> bool:
        return self._held

    def wait_for_waiting(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` calls wait for a turn (tests and diagnostics: no sleeping)."""
        with self._condition:
            return self._condition.wait_for(
                lambda: sum(len(tickets) for tickets in self._waiting.values()) >= count, timeout)

    def _next_ticket(self) -> object | None:
        for tickets in self._waiting.values():
            return tickets[0]
        return None

    @contextmanager
    def hold(self, requester: str | None = None) -> Iterator[None]:
        requester = current_requester.get() if requester is None else requester
        ticket = object()
        with self._condition:
            self._waiting.setdefault(requester, deque()).append(ticket)
            self._condition.notify_all()  # someone may be waiting to see this call queue up
            while self._held or self._next_ticket() is not ticket:
                self._condition.wait()
            tickets = self._waiting.pop(requester)
            tickets.popleft()
            if tickets:  # this requester's next turn comes after everyone now waiting
                self._waiting[requester] = tickets
            self._held = True
            self.grants = [*self.grants[-99:], requester]
        try:
            yield
        finally:
            with self._condition:
                self._held = False
                self._condition.notify_all()
