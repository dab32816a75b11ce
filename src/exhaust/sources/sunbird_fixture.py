"""A Source built from Sunbird's own test fixtures: CQL inserts, Redis user hashes and a search response.

The upstream test suites load CQL into an embedded Cassandra, user hashes into Redis and answer content
search from a mock; this module gives the same data as one in-memory Source, so our reports can be run
on the exact inputs whose outputs the upstream tests assert. It follows the stores' semantics:

* an INSERT is an upsert: rows with the same Cassandra primary key merge, later columns winning;
* a user's id is the suffix of its Redis key `user:<id>`, whatever the hash's own `userid` says, and
  hash values are read as the Redis user store reads them (`cache_value`);
* content search answers from the given result items (a static `CollectionSearch`), and their root
  metadata (name, status, channel, userConsent) fills the stored hierarchies that lack it, because
  upstream takes those fields from search, never from the hierarchy store.

A collection that is searchable but has no `content_hierarchy` row gets no invented hierarchy: upstream
fails such a batch (test "duplicate requests" relies on it), and the search store answers the
metadata checks (retired collection, user consent) that come before the hierarchy is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from pathlib import Path

import pyarrow as pa

from exhaust.errors import BadInput, SourceDataError
from exhaust.sources.base import Source
from exhaust.sources.coerce import rows_to_table
from exhaust.sources.cql import parse_cql_inserts
from exhaust.sources.memory import MemoryTables
from exhaust.sources.redis_users import USER_KEY_PREFIX, cache_value
from exhaust.sources.schema import USER_FIELDS, empty_table

# CQL table -> (logical table, Cassandra primary key columns, from the fixture's data.cql).
CQL_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "course_batch": ("course_batch", ("courseid", "batchid")),
    "user_enrolments": ("user_enrolments", ("userid", "courseid", "batchid")),
    "user_activity_agg": ("user_activity_agg", ("activity_type", "activity_id", "user_id", "context_id")),
    "assessment_aggregator": (
        "assessment_aggregator",
        ("user_id", "course_id", "batch_id", "content_id", "attempt_id"),
    ),
    "user_consent": ("user_consent", ("user_id", "consumer_id", "object_id")),
    "content_hierarchy": ("content_hierarchy", ("identifier",)),
    "system_settings": ("system_settings", ("id",)),
    "user": ("users", ("id",)),
}
# The fields upstream asks content search for; the rest of a search item is not collection metadata.
SEARCH_FIELDS = ("identifier", "name", "status", "channel", "userConsent")

# Suite file name -> (CQL files, content search mock) as the upstream suites use them.
_REPORT_DATA = "lern-data-products/src/test/resources/exhaust/report_data.cql"
_V2_DATA = "lern-data-products/src/test/resources/exhaust/progress-exhaust-v2.cql"
_MOCKS = "extracted-from-test-code/mock-http-responses"
SUITES: dict[str, tuple[tuple[str, ...], str]] = {
    "TestProgressExhaustJob.scala": ((_REPORT_DATA,), "content-search.BaseReportSpec.json"),
    "TestUserInfoExhaustJob.scala": ((_REPORT_DATA,), "content-search.BaseReportSpec.json"),
    "TestResponseExhaustJob.scala": ((_REPORT_DATA,), "content-search.BaseReportSpec.json"),
    "TestResponseExhaustJobV2.scala": ((_REPORT_DATA,), "content-search.TestResponseExhaustJobV2.json"),
    "TestProgressExhaustJobV2.scala": ((_V2_DATA,), "content-search.TestProgressExhaustJobV2.json"),
}

_Entry = tuple[str, int, dict]  # (origin, line, row)


class StaticSearch:
    """`CollectionSearch` over fixed result items: a filter matches a value or one of a list of values."""

    def __init__(self, items: Sequence[Mapping[str, object]]) -> None:
        self.items = [dict(item) for item in items]

    def search(self, filters: Mapping[str, object]) -> list[dict]:
        wanted = {field: _accepted(value) for field, value in filters.items()}
        return [
            dict(item)
            for item in self.items
            if all(_text(item.get(field)) in values for field, values in wanted.items())
        ]


def load_sunbird_fixture(
    cql_paths: Sequence[Path],
    redis_user_hashes: Sequence[dict] = (),
    search_results: Sequence[dict] = (),
) -> Source:
    """A Source over CQL insert files, Redis `user:<id>` hashes and content search result items."""
    entries: dict[str, dict[tuple, _Entry]] = {}
    for path in cql_paths:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceDataError(f"cannot read CQL file {path.name} ({exc})") from None
        for line, cql_table, row in parse_cql_inserts(text, origin=path.name):
            if cql_table not in CQL_TABLES:
                continue  # tables no report reads, e.g. sunbird_programs.program_enrollment
            logical, key_columns = CQL_TABLES[cql_table]
            _upsert(entries.setdefault(logical, {}), key_columns, (path.name, line, row))

    users = {_user_id(row): (origin, line, row) for origin, line, row in entries.pop("users", {}).values()}
    users.update(_redis_users(redis_user_hashes))
    tables = {logical: _to_table(list(rows.values()), logical) for logical, rows in entries.items()}
    tables["users"] = _users_table(list(users.values()))
    if "content_hierarchy" in tables:
        tables["content_hierarchy"] = _with_search_metadata(tables["content_hierarchy"], search_results)
    # Without search items, Source falls back to searching the stored hierarchies' roots.
    search = StaticSearch(search_results) if search_results else None
    return Source(MemoryTables(tables), search=search)


def load_sunbird_test_fixture(fixtures_dir: Path, suite: str = "TestProgressExhaustJob.scala") -> Source:
    """The Source an upstream suite runs on: its CQL data, its Redis user hashes and its search mock."""
    if suite not in SUITES:
        raise BadInput(f"unknown upstream suite {suite!r}; known: {', '.join(sorted(SUITES))}")
    fixtures_dir = Path(fixtures_dir)
    cql_files, search_mock = SUITES[suite]
    inputs = _read_json(fixtures_dir / "extracted-from-test-code" / "test-inputs.json")
    hashes = inputs.get(suite, {}).get("redis_user_hashes_db0", [])
    response = _read_json(fixtures_dir / _MOCKS / search_mock)
    return load_sunbird_fixture(
        [fixtures_dir / name for name in cql_files], hashes, search_result_items(response)
    )


def search_result_items(response: Mapping[str, object]) -> list[dict]:
    """The items of a search response: every list under `result` except `count`, as upstream reads it."""
    result = response.get("result") or {}
    if not isinstance(result, Mapping):
        raise SourceDataError("the search response has no result object")
    items: list[dict] = []
    for key, value in result.items():
        if key != "count" and isinstance(value, list):
            items.extend(dict(item) for item in value if isinstance(item, Mapping))
    return items


def _upsert(rows: dict[tuple, _Entry], key_columns: tuple[str, ...], entry: _Entry) -> None:
    """Cassandra's INSERT: a row with an existing key overwrites only the columns it names."""
    origin, line, row = entry
    missing = [c for c in key_columns if row.get(c) is None]
    if missing:
        raise SourceDataError(f"{origin}, line {line}: the INSERT has no value for key column {missing[0]}")
    key = tuple(row[c] for c in key_columns)
    if key in rows:
        merged = {**rows[key][2], **row}
        rows[key] = (origin, line, merged)
    else:
        rows[key] = entry


def _to_table(entries: list[_Entry], table: str) -> pa.Table:
    """Conform rows from possibly several files, keeping each row's file and line for errors."""
    parts = [
        rows_to_table(((line, row) for _, line, row in group), table, origin)
        for origin, group in groupby(entries, key=lambda entry: entry[0])
    ]
    return pa.concat_tables(parts) if parts else empty_table(table)


def _user_id(row: Mapping[str, object]) -> str:
    return str(row.get("userid") or row["id"])


def _redis_users(hashes: Iterable[Mapping[str, object]]) -> dict[str, _Entry]:
    """Users keyed by the id in `user:<id>`; the hash's own `userid` is ignored, as upstream does."""
    users: dict[str, _Entry] = {}
    for position, item in enumerate(hashes, start=1):
        key, values = item.get("key"), item.get("hash")
        if (
            not isinstance(key, str)
            or not key.startswith(USER_KEY_PREFIX)
            or len(key) == len(USER_KEY_PREFIX)
        ):
            raise SourceDataError(f"Redis user hash {position}: key {key!r} is not of the form user:<id>")
        if not isinstance(values, Mapping):
            raise SourceDataError(f"Redis user hash {key}: the value is not a hash")
        user_id = key[len(USER_KEY_PREFIX) :]
        row = {field: cache_value(field, _text(values.get(field))) for field in USER_FIELDS[1:]}
        row["userid"] = user_id
        users[user_id] = ("Redis user hashes", position, row)
    return users


def _users_table(entries: list[_Entry]) -> pa.Table:
    for _, _, row in entries:
        row["userid"] = _user_id(row)
    return _to_table(entries, "users")


def _with_search_metadata(hierarchies: pa.Table, items: Sequence[Mapping[str, object]]) -> pa.Table:
    """Fill each stored hierarchy's root with the search fields it lacks (the first item of an id wins)."""
    metadata: dict[str, dict] = {}
    for item in items:
        identifier = _text(item.get("identifier"))
        if identifier is not None and identifier not in metadata:
            metadata[identifier] = {f: item[f] for f in SEARCH_FIELDS if item.get(f) is not None}
    texts = []
    for identifier, text in zip(
        hierarchies.column("identifier").to_pylist(), hierarchies.column("hierarchy").to_pylist(), strict=True
    ):
        found = metadata.get(identifier)
        if text is None or not found:
            texts.append(text)
            continue
        root = json.loads(text)  # validated as a JSON object when the table was built
        missing = {k: v for k, v in found.items() if root.get(k) is None}
        texts.append(json.dumps({**root, **missing}, ensure_ascii=False) if missing else text)
    index = hierarchies.schema.get_field_index("hierarchy")
    return hierarchies.set_column(index, "hierarchy", pa.array(texts, type=pa.string()))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"fixture file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceDataError(f"cannot read fixture file {path.name} ({exc})") from None


def _accepted(value: object) -> set[str | None]:
    if isinstance(value, list | tuple | set | frozenset):
        return {_text(v) for v in value}
    return {_text(value)}


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, dict | list | bool) else str(value)
