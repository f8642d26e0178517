"""Many users on one model: fair turns, and a bounded load run with nothing lost or doubled."""

from __future__ import annotations

import threading

from bench.load_test import run_load
from contentgen.engine.fair import FairLock


def test_turns_rotate_between_requesters():
    lock = FairLock()
    order: list[str] = []
    release_first = threading.Event()

    holding = threading.Event()

    def take(requester: str, hold: threading.Event | None = None) -> None:
        with lock.hold(requester):
            order.append(requester)
            if hold is not None:
                holding.set()
                hold.wait(5)

    first = threading.Thread(target=take, args=("batch", release_first))
    first.start()
    assert holding.wait(5)  # the holder has its turn
    waiting = []
    for queued, requester in enumerate(["batch", "batch", "batch", "agent"], start=1):  # the agent arrives last
        thread = threading.Thread(target=take, args=(requester,))
        thread.start()
        waiting.append(thread)
        assert lock.wait_for_waiting(queued)  # it has queued up before the next one starts
    release_first.set()
    for thread in [first, *waiting]:
        thread.join(5)
    # The agent does not wait for the whole batch queue: after the batch's next turn, it is next.
    assert order == ["batch", "batch", "agent", "batch", "batch"]


def test_eight_users_for_a_while_lose_nothing(tiny_engine, store):
    report = run_load(tiny_engine, store, users=8, seconds=6, max_new_tokens=8)
    assert report["error_count"] == 0, report["errors"]
    assert report["requests"] >= 8
    assert report["duplicate_ids"] == 0 and report["lost"] == 0 and report["wrong_user"] == 0
    assert report["history_rows"] == report["answered_ids"]
    assert set(report["latency_s"]) >= {"copy", "reply", "tag"}
