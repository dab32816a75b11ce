"""The one source interface the engine depends on.

A `TableStore` answers "rows of table T whose column C is one of these values", so every adapter
reads only what the requested batches need. `Source` composes a table store with optional
specialised stores (the Redis user cache, the content service) as SPEC §2 and the settings describe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

from exhaust.errors import BatchNotFound, HierarchyNotFound, SourceDataError
from exhaust.sources.scan import ParquetScan, Scan, Scannable, table_reader

Filters = Mapping[str, Sequence[str]]


class TableStore(Protocol):
    """Reads rows of one logical table, restricted by `filters` (column -> allowed values)."""

    def read(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> pa.Table:
        """Rows of `table` (logical schema) whose columns match every filter.

        `columns`, when given, limits the result to those logical columns (in that order), so large
        nested columns such as `assessment_aggregator.question` are not read when a report needs none.
        """
        ...


class UserStore(Protocol):
    """Reads user profiles (the `users` table) for given user ids."""

    def users(self, user_ids: Sequence[str]) -> pa.Table: ...


class ContentStore(Protocol):
    """Reads collection hierarchies by id (as parsed JSON objects)."""

    def hierarchies(self, collection_ids: Sequence[str]) -> dict[str, dict]: ...


class OptionalNodeStore(Protocol):
    """Reads the optional (not counted) content ids of a course."""

    def optional_nodes(self, course_id: str) -> set[str]: ...


class CollectionSearch(Protocol):
    """Searches collections by Sunbird search filters (field -> value or list of values)."""

    def search(self, filters: Mapping[str, object]) -> list[dict]: ...


class AttemptArchive(Protocol):
    """Archived assessment attempts (Sunbird's archival of `assessment_aggregator`), in its schema."""

    def attempts(self, course_id: str, batch_id: str, user_ids: Sequence[str] | None = None) -> pa.Table: ...


class Source:
    """Everything a report reads, each part from the store configured for it."""

    def __init__(
        self,
        tables: TableStore,
        users: UserStore | None = None,
        content: ContentStore | None = None,
        optional_nodes: OptionalNodeStore | None = None,
        search: CollectionSearch | None = None,
        archive: AttemptArchive | None = None,
    ) -> None:
        self.tables = tables
        self._users = users
        self._content = content
        self._optional = optional_nodes
        self._search = search
        self.archive = archive

    @property
    def search_store(self) -> CollectionSearch | None:
        """The collection search configured for this source, if any."""
        return self._search

    def scan(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> Scan:
        """`table` for the engine to read itself (sources/scan.py): a file scan or a record batch stream."""
        if isinstance(self.tables, Scannable):
            return self.tables.scan(table, filters, columns)
        return table_reader(self.tables.read(table, filters, columns))

    def scan_users(self, user_ids: Callable[[], Sequence[str]], columns: Sequence[str]) -> Scan:
        """Profiles for the engine. A users file the engine reads itself is scanned whole and joined by the
        engine; anything else (a user cache, a database) is asked for exactly the enrolled ids
        (`user_ids()`, called only then), so no other user's row leaves it."""
        if self._users is not None:
            stream = getattr(self._users, "scan_users", None)  # a cache able to stream (Redis)
            if stream is not None:
                return _selected(stream(user_ids()), columns)
            return table_reader(self._users.users(user_ids()).select(list(columns)))
        # Only files are scanned whole: a database would send every user's row.
        if isinstance(self.tables, Scannable) and getattr(self.tables, "engine_reads_files", False):
            scan = self.tables.scan("users", {}, columns)
            if isinstance(scan, ParquetScan):
                return scan
        return table_reader(self.tables.read("users", {"userid": list(user_ids())}, columns))

    def batch(self, batch_id: str) -> dict:
        """The `course_batch` row of `batch_id`, or BatchNotFound."""
        rows = self.tables.read("course_batch", {"batchid": [batch_id]}).to_pylist()
        if not rows:
            raise BatchNotFound(batch_id)
        return rows[0]

    def enrolments(self, batch_id: str) -> pa.Table:
        return self.tables.read("user_enrolments", {"batchid": [batch_id]})

    def users(self, user_ids: Sequence[str]) -> pa.Table:
        if self._users is not None:
            return self._users.users(user_ids)
        return self.tables.read("users", {"userid": list(user_ids)})

    def activity(self, batch_id: str) -> pa.Table:
        return self.tables.read("user_activity_agg", {"context_id": [f"cb:{batch_id}"]})

    def attempts(
        self,
        course_id: str,
        batch_id: str,
        columns: Sequence[str] | None = None,
        user_ids: Sequence[str] | None = None,
    ) -> pa.Table:
        """Assessment attempts of a batch, optionally of some learners only."""
        filters: dict[str, Sequence[str]] = {"course_id": [course_id], "batch_id": [batch_id]}
        if user_ids is not None:
            filters["user_id"] = list(user_ids)
        return self.tables.read("assessment_aggregator", filters, columns)

    def archived_attempts(
        self, course_id: str, batch_id: str, columns: Sequence[str], user_ids: Sequence[str] | None = None
    ) -> pa.Table | None:
        """Archived attempts of a batch (None when no archive is configured)."""
        if self.archive is None:
            return None
        return self.archive.attempts(course_id, batch_id, user_ids).select(list(columns))

    def consents(self, object_id: str, consumer_id: str) -> pa.Table:
        return self.tables.read("user_consent", {"object_id": [object_id], "consumer_id": [consumer_id]})

    def hierarchy(self, collection_id: str) -> dict:
        """The parsed hierarchy of a collection, or HierarchyNotFound."""
        if self._content is not None:
            found = self._content.hierarchies([collection_id]).get(collection_id)
        else:
            rows = self.tables.read("content_hierarchy", {"identifier": [collection_id]}).to_pylist()
            found = _parse_hierarchy(rows[0]["hierarchy"], collection_id) if rows else None
        if not found:
            raise HierarchyNotFound(collection_id)
        return found

    def optional_nodes(self, course_id: str) -> set[str]:
        return self._optional.optional_nodes(course_id) if self._optional is not None else set()

    def setting(self, setting_id: str) -> str | None:
        rows = self.tables.read("system_settings", {"id": [setting_id]}).to_pylist()
        return rows[0]["value"] if rows else None

    def search_collections(self, filters: Mapping[str, object]) -> list[dict]:
        """Collections matching Sunbird search `filters`, from the content service when one is configured.

        Without one, the stored hierarchies are searched on their root fields (identifier, channel,
        status, name, ...): a value matches when it equals the filter value or is one of a list. The
        hierarchy store holds published collections, so a root without `status` counts as `Live`.
        """
        if self._search is not None:
            return self._search.search(filters)
        wanted = {field: _as_values(value) for field, value in filters.items()}
        ids = wanted.get("identifier")
        rows = self.tables.read("content_hierarchy", {"identifier": sorted(ids)} if ids is not None else {})
        found = []
        for row in rows.to_pylist():
            tree = _parse_hierarchy(row["hierarchy"], row["identifier"]) or {}
            summary = {k: v for k, v in tree.items() if k != "children"}
            summary["identifier"] = row["identifier"]
            summary.setdefault("status", "Live")
            if all(_text_of(summary.get(field)) in values for field, values in wanted.items()):
                found.append(summary)
        return found


def _selected(reader: pa.RecordBatchReader, columns: Sequence[str]) -> pa.RecordBatchReader:
    """`reader` limited to `columns`, still streamed."""
    schema = pa.schema([reader.schema.field(name) for name in columns])
    batches = (pa.RecordBatch.from_arrays([b.column(c) for c in columns], schema=schema) for b in reader)
    return pa.RecordBatchReader.from_batches(schema, batches)


def _parse_hierarchy(text: str | None, collection_id: str) -> dict | None:
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise SourceDataError(f"content hierarchy of {collection_id} is not valid JSON") from None
    except RecursionError:
        raise SourceDataError(f"content hierarchy of {collection_id} is nested too deeply to read") from None
    if not isinstance(parsed, dict):
        raise SourceDataError(f"content hierarchy of {collection_id} is not a JSON object")
    return parsed


def _as_values(value: object) -> set[Any]:
    """A search filter value (one value or a list of them) as the set of accepted texts."""
    if isinstance(value, list | tuple | set | frozenset):
        return {_text_of(v) for v in value}
    return {_text_of(value)}


def _text_of(value: object) -> str | None:
    return None if value is None else str(value)
