"""The figures behind the pages, computed by the engine and kept for a short time.

`BatchFigures` gives a batch's summary (engine/summary.py); `Catalog` gives the courses and batches of a
channel with enrolled / completed per batch. Both are cached for `dashboard_cache_seconds`, and a figure
being computed is computed once: other requests for it wait for that result instead of starting again.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from exhaust.engine.backend import open_backend
from exhaust.engine.hierarchy import AssessmentRules
from exhaust.engine.inputs import load_batch
from exhaust.engine.summary import BatchSummary, batch_counts, batch_summary
from exhaust.settings import Settings
from exhaust.sources.base import Source

K = TypeVar("K")
V = TypeVar("V")
MAX_ENTRIES = 256


class TimedCache(Generic[K, V]):
    """Values by key for `max_age` seconds; one computation per key at a time (the rest wait for it)."""

    def __init__(self, max_age: float, max_entries: int = MAX_ENTRIES) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._values: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                found = self._values.get(key)
            if found is not None and time.monotonic() - found[0] <= self.max_age:
                return found[1]
            value = compute()
            with self._guard:
                self._values[key] = (time.monotonic(), value)
                self._values.move_to_end(key)
                while len(self._values) > self.max_entries:
                    old, _ = self._values.popitem(last=False)
                    self._locks.pop(old, None)
            return value

    def clear(self) -> None:
        with self._guard:
            self._values.clear()


def _rules(settings: Settings) -> AssessmentRules:
    return AssessmentRules(
        content_types=tuple(settings.assessment_content_types),
        object_types=tuple(settings.assessment_object_types),
        primary_categories=tuple(settings.assessment_primary_categories),
    )


class BatchFigures:
    """Summaries of batches, by batch id."""

    def __init__(self, source: Callable[[], Source], settings: Settings) -> None:
        self._source = source
        self._settings = settings
        self._cache: TimedCache[str, BatchSummary] = TimedCache(settings.dashboard_cache_seconds)

    def summary(self, batch_id: str) -> BatchSummary:
        return self._cache.get(batch_id, lambda: self._compute(batch_id))

    def _compute(self, batch_id: str) -> BatchSummary:
        backend = open_backend(self._settings.engine, self._settings)
        try:
            return batch_summary(
                backend, load_batch(self._source(), batch_id, backend, _rules(self._settings))
            )
        finally:
            backend.close()


@dataclass(frozen=True)
class BatchRow:
    """A batch in the course list."""

    batch_id: str
    name: str
    course_id: str
    mentors: tuple[str, ...]
    enrolled: int
    completed: int


@dataclass(frozen=True)
class CourseRow:
    course_id: str
    name: str
    status: str
    channel: str
    batches: tuple[BatchRow, ...]


def _mentors(value: object) -> tuple[str, ...]:
    """`course_batch.mentors` as a tuple (a source may hand it over as JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return (str(value),) if value else ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v is not None)
    return ()


class Catalog:
    """Courses of a channel (their hierarchies' `channel`) and their batches, with enrolment counts."""

    def __init__(self, source: Callable[[], Source], settings: Settings) -> None:
        self._source = source
        self._settings = settings
        self._cache: TimedCache[str, tuple[CourseRow, ...]] = TimedCache(settings.dashboard_cache_seconds)

    def courses(self, channel: str) -> tuple[CourseRow, ...]:
        return self._cache.get(channel, lambda: self._compute({"channel": channel}))

    def every_course(self) -> tuple[CourseRow, ...]:
        """All tenants' courses (for the Prometheus gauge)."""
        return self._cache.get("\x00all", lambda: self._compute({}))

    def _compute(self, filters: dict[str, object]) -> tuple[CourseRow, ...]:
        source = self._source()
        courses = sorted(
            source.search_collections(filters), key=lambda c: (str(c.get("name") or ""), c["identifier"])
        )
        if not courses:
            return ()
        batches = source.tables.read("course_batch", {"courseid": [c["identifier"] for c in courses]})
        counts = self._counts(source, batches)
        by_course: dict[str, list[BatchRow]] = {}
        for row in batches.to_pylist():
            batch_id = row.get("batchid")
            if not batch_id:
                continue
            enrolled, completed = counts.get(batch_id, (0, 0))
            by_course.setdefault(row.get("courseid") or "", []).append(
                BatchRow(
                    batch_id=batch_id,
                    name=str(row.get("name") or batch_id),
                    course_id=row.get("courseid") or "",
                    mentors=_mentors(row.get("mentors")),
                    enrolled=enrolled,
                    completed=completed,
                )
            )
        return tuple(
            CourseRow(
                course_id=c["identifier"],
                name=str(c.get("name") or c["identifier"]),
                status=str(c.get("status") or ""),
                channel=str(c.get("channel") or ""),
                batches=tuple(sorted(by_course.get(c["identifier"], []), key=lambda b: (b.name, b.batch_id))),
            )
            for c in courses
        )

    def _counts(self, source: Source, batches: pa.Table) -> dict[str, tuple[int, int]]:
        """Enrolled and completed per batch, counted by the engine over the enrolment rows."""
        ids = pc.unique(batches.column("batchid")).to_pylist() if batches.num_rows else []
        ids = [b for b in ids if b]
        if not ids:
            return {}
        rows = source.tables.read(
            "user_enrolments", {"batchid": ids}, ["batchid", "userid", "active", "status", "completedon"]
        )
        backend = open_backend(self._settings.engine)
        try:
            table = backend.table("enrolment_rows", rows)
            result = backend.execute(batch_counts(backend, table)).to_pylist()
        finally:
            backend.close()
        return {r["batchid"]: (int(r["enrolled"]), int(r["completed"] or 0)) for r in result}
