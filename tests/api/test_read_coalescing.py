"""Identical job reads at the same moment share a query, yet none returns a state older than its call.

The API's submit reads the same job row once per caller; in a burst those reads are coalesced
(`exhaust.jobs.store.Coalescer`). These tests pin down both halves: sharing, and freshness.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from exhaust.jobs.store import Coalescer


class SlowCounter:
    """A "query" that returns how many times it ran, and can be held open."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.started = threading.Event()

    def read(self) -> int:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10)
        return self.calls


def wait_for_waiters(coalescer: Coalescer, count: int) -> None:
    """Until `count` callers wait on the key's next read (they are inside `run`)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if threading.active_count() >= count and coalescer._waiting:
            return
        time.sleep(0.01)
    raise AssertionError("callers did not queue up")


def test_callers_during_a_read_share_the_next_one_not_the_running_one() -> None:
    coalescer, counter = Coalescer(), SlowCounter()
    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(coalescer.run, "key", counter.read)
        assert counter.started.wait(10)  # the first read is running
        later = [pool.submit(coalescer.run, "key", counter.read) for _ in range(8)]
        wait_for_waiters(coalescer, 9)
        time.sleep(0.1)  # let all eight join the waiting read
        counter.release.set()
        assert first.result(10) == (1, False)
        results = [future.result(10) for future in later]
    # The eight who came while read 1 ran got read 2 (started after they came): one led it, seven shared it.
    assert sorted(results) == [(2, False)] + [(2, True)] * 7
    assert counter.calls == 2
    assert not coalescer._running and not coalescer._waiting


def test_a_failed_read_is_retried_by_each_waiting_caller() -> None:
    coalescer = Coalescer()
    running, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def failing() -> int:
        calls.append("lead")
        running.set()
        assert release.wait(10)
        raise RuntimeError("database went away")

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(coalescer.run, "key", failing)
        assert running.wait(10)
        second = pool.submit(coalescer.run, "key", failing)
        wait_for_waiters(coalescer, 2)  # `second` leads the next read
        third = pool.submit(coalescer.run, "key", lambda: 7)
        time.sleep(0.1)
        release.set()
        with pytest.raises(RuntimeError):
            first.result(10)
        with pytest.raises(RuntimeError):
            second.result(10)  # led the next read, which failed too
        assert third.result(10) == (7, False)  # shared a failed read, so it read for itself
    assert calls == ["lead", "lead"]
    assert not coalescer._running and not coalescer._waiting
