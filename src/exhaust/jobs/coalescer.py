"""Identical reads at the same moment share one query (the job store's reads under a burst)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _Flight:
    """One read that several callers wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    failed: bool = False


class Coalescer:
    """Identical reads at the same moment share one query, and none sees a state older than its call.

    A burst of identical submits reads one row 200 times; here the callers that arrive while that row's
    read is running all share the *next* read, which starts after they arrived (never the running one:
    it may have read the row before a write the caller already saw committed). So a burst costs about
    two queries per key at a time instead of one per caller, and every answer is as fresh as its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Hashable, _Flight] = {}
        self._waiting: dict[Hashable, _Flight] = {}

    def run(self, key: Hashable, read: Callable[[], T]) -> tuple[T, bool]:
        """`read()`'s result, and whether this call shared another caller's read."""
        with self._lock:
            before = self._running.get(key)
            if before is None:
                flight, lead = _Flight(), True
                self._running[key] = flight
            else:
                flight = self._waiting.get(key) or _Flight()
                lead = key not in self._waiting
                self._waiting[key] = flight
        if not lead:
            flight.done.wait()
            return (read(), False) if flight.failed else (flight.result, True)
        if before is not None:
            before.done.wait()  # `before` made this flight the running one as it ended
        try:
            flight.result = read()
        except BaseException:
            flight.failed = True  # each waiting caller reads for itself and sees its own error
            raise
        finally:
            with self._lock:
                following = self._waiting.pop(key, None)
                if following is None:
                    del self._running[key]
                else:
                    self._running[key] = following
            flight.done.set()
        return flight.result, False
