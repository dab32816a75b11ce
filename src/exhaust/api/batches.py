"""What the API needs to know about a batch before it queues or shows a request: does it exist, whose is it.

Facts come from the configured source (`course_batch` and the collection's search record, else its
hierarchy root, as `sources.collections` reads them) and are kept for
`source_cache_seconds`, the same time a worker reuses an opened source, so a burst of identical submits
reads the source once. A course's channel is its hierarchy's `channel`, the tenant that owns it; a course
without a hierarchy falls back to the batch's `created_for` org ids.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from exhaust.jobs.worker import SourceCache
from exhaust.sources.base import Source
from exhaust.sources.collections import collection_records

MAX_CACHED = 10_000


@dataclass(frozen=True)
class BatchFacts:
    """A batch, its course and the course's owner, as the authorisation rule sees them."""

    batch_id: str
    course_id: str
    course_channel: str | None
    course_status: str | None
    created_for: tuple[str, ...] = ()
    mentors: tuple[str, ...] = ()

    def in_channel(self, channel: str) -> bool:
        """True when the batch's course belongs to `channel`."""
        if self.course_channel:
            return self.course_channel == channel
        return channel in self.created_for


def _texts(value: Any) -> tuple[str, ...]:
    """A list column as a tuple of texts (also when a source hands it over as JSON text)."""
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return (value,) if value else ()
        if isinstance(value, str):
            return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v is not None)
    return ()


class BatchDirectory:
    """Looks batches up in the source, with a short-lived cache of the answers (misses included)."""

    def __init__(self, opener: Callable[[], Source], max_age: float) -> None:
        self._max_age = max_age
        self._lock = threading.Lock()
        self._sources = SourceCache(opener, max_age)
        self._cache: OrderedDict[str, tuple[float, BatchFacts | None]] = OrderedDict()

    def _current_source(self) -> Source:
        return self._sources.get()

    def lookup(self, batch_ids: Iterable[str]) -> dict[str, BatchFacts]:
        """Facts of the batches that exist, by batch id (unknown ids are absent)."""
        wanted = list(dict.fromkeys(batch_ids))
        now = time.monotonic()
        found: dict[str, BatchFacts] = {}
        with self._lock:
            missing = []
            for batch_id in wanted:
                cached = self._cache.get(batch_id)
                if cached is not None and now - cached[0] <= self._max_age:
                    if cached[1] is not None:
                        found[batch_id] = cached[1]
                else:
                    missing.append(batch_id)
            if missing:
                fresh = self._read(missing)
                for batch_id in missing:
                    facts = fresh.get(batch_id)
                    self._cache[batch_id] = (now, facts)
                    self._cache.move_to_end(batch_id)
                    if facts is not None:
                        found[batch_id] = facts
                while len(self._cache) > MAX_CACHED:
                    self._cache.popitem(last=False)
        return found

    def _read(self, batch_ids: list[str]) -> dict[str, BatchFacts]:
        source = self._current_source()
        rows = source.tables.read("course_batch", {"batchid": batch_ids}).to_pylist()
        # The collection's search record first, its hierarchy root otherwise (as the worker decides).
        courses = collection_records(source, [row.get("courseid") for row in rows if row.get("courseid")])
        facts: dict[str, BatchFacts] = {}
        for row in rows:
            batch_id, course_id = row.get("batchid"), row.get("courseid") or ""
            if batch_id in facts or not batch_id:
                continue  # duplicate source rows: the first one counts
            tree = courses.get(course_id) or {}
            channel = tree.get("channel")
            facts[batch_id] = BatchFacts(
                batch_id=batch_id,
                course_id=course_id,
                course_channel=str(channel) if channel else None,
                course_status=tree.get("status"),
                created_for=_texts(row.get("created_for")),
                mentors=_texts(row.get("mentors")),
            )
        return facts
