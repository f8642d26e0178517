"""Many users on one model: fair turns, and a bounded load run with nothing lost or doubled."""

from __future__ import annotations

import threading
import time

from bench.load_test import run_load
from contentgen.engine.fair import FairLock


def test_turns_rotate_between_requesters():
    lock = FairLock()
    order: list[str] = []
    release_first = threading.Event()

    def take(requester: str, hold: threading.Event | None = None) -> None:
        with lock.hold(requester):
            order.append(requester)
            if hold is not None:
                hold.wait(5)

    first = threading.Thread(target=take, args=("batch", release_first))
    first.start()
    time.sleep(0.05)
    waiting = []
    for requester in ["batch", "batch", "batch", "agent"]:  # the agent arrives last
        thread = threading.Thread(target=take, args=(requester,))
        thread.start()
        waiting.append(thread)
        time.sleep(0.05)
    release_first.set()
    for thread in [first, *waiting]:
        thread.join(5)
    # The agent does not wait for the whole batch queue: it gets the second turn after the holder's.
    assert order == ["batch", "batch", "agent", "batch", "batch"] or order == ["batch", "agent", "batch", "batch", "batch"]
    assert order.index("agent") <= 2


def test_eight_users_for_a_while_lose_nothing(tiny_engine, store):
    report = run_load(tiny_engine, store, users=8, seconds=6, max_new_tokens=8)
    assert report["error_count"] == 0, report["errors"]
    assert report["requests"] >= 8
    assert report["duplicate_ids"] == 0 and report["lost"] == 0 and report["wrong_user"] == 0
    assert report["history_rows"] == report["answered_ids"]
    assert set(report["latency_s"]) >= {"copy", "reply", "tag"}
