"""Which batches a request covers (Sunbird's getCollectionBatches, with clearer outcomes).

Unknown batch ids are ignored; if none is left the request ends `No data found`. Batches of retired
collections are refused; if only those are left the request ends with Sunbird's retired message. A
searchFilter selects collections by identifier, channel, status or name, then their batches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from exhaust.errors import BadInput, ExhaustError, HierarchyNotFound
from exhaust.jobs.datasets import MAX_BATCHES, BatchSelector, check_batch_id
from exhaust.sources.base import Source

NO_DATA = "No data found"
RETIRED = "The request is made for retired collection"


class NoData(ExhaustError):
    """None of the requested batches exists (Sunbird's message)."""

    def __init__(self) -> None:
        super().__init__(NO_DATA)


class RetiredCollection(ExhaustError):
    """Every requested batch belongs to a retired collection (Sunbird's message)."""

    def __init__(self) -> None:
        super().__init__(RETIRED)


@dataclass(frozen=True)
class PlannedBatch:
    """One batch to build; `error` is set when it is known up front that it cannot be built."""

    batch_id: str
    collection_id: str
    error: str | None = None


def plan_batches(source: Source, selector: BatchSelector) -> list[PlannedBatch]:
    """The batches to build, in request order (search results by batch id)."""
    if selector.search is not None:
        return _plan_search(source, selector.search)
    rows = source.tables.read("course_batch", {"batchid": list(selector.batch_ids)}).to_pylist()
    by_id = {row["batchid"]: row for row in rows}
    found = [by_id[b] for b in selector.batch_ids if b in by_id]
    if not found:
        raise NoData()
    return _without_retired(source, [(row["batchid"], row["courseid"]) for row in found])


def _without_retired(source: Source, batches: Sequence[tuple[str, str]]) -> list[PlannedBatch]:
    statuses: dict[str, str | None] = {}
    missing: dict[str, str] = {}
    for _, collection_id in batches:
        if collection_id in statuses:
            continue
        try:
            statuses[collection_id] = source.hierarchy(collection_id).get("status")
        except HierarchyNotFound as error:
            statuses[collection_id] = None
            missing[collection_id] = error.message
    planned = [
        PlannedBatch(batch_id, collection_id, missing.get(collection_id))
        for batch_id, collection_id in batches
        if statuses[collection_id] != "Retired"
    ]
    if not planned:
        raise RetiredCollection()
    return planned


def search_collections(source: Source, filters: Mapping[str, Sequence[str]]) -> list[dict]:
    """Collections matching every filter: the source's own search when it has one, else a hierarchy scan."""
    finder = getattr(source, "search_collections", None)
    if callable(finder):
        found = finder({name: list(values) for name, values in filters.items()})
        return found.to_pylist() if isinstance(found, pa.Table) else [dict(item) for item in found]
    scope = {"identifier": list(filters["identifier"])} if "identifier" in filters else {}
    table = source.tables.read("content_hierarchy", scope)
    matches = []
    for row in table.to_pylist():
        try:
            tree = json.loads(row["hierarchy"]) if isinstance(row["hierarchy"], str) else row["hierarchy"]
        except json.JSONDecodeError:
            continue
        if not isinstance(tree, dict):
            continue
        record = {name: tree.get(name) for name in ("identifier", "channel", "status", "name")}
        record["identifier"] = record["identifier"] or row["identifier"]
        if all(record.get(name) in values for name, values in filters.items()):
            matches.append(record)
    return matches


def _plan_search(source: Source, filters: Mapping[str, Sequence[str]]) -> list[PlannedBatch]:
    collections = search_collections(source, filters)
    live = [c["identifier"] for c in collections if c.get("status") != "Retired"]
    if collections and not live:
        raise RetiredCollection()
    if not live:
        raise NoData()
    rows = source.tables.read("course_batch", {"courseid": live}).to_pylist()
    if not rows:
        raise NoData()
    if len(rows) > MAX_BATCHES:
        raise BadInput(
            f"the searchFilter matched {len(rows)} batches; a request may cover at most {MAX_BATCHES}: narrow it"
        )
    rows.sort(key=lambda row: row["batchid"])
    return [PlannedBatch(check_batch_id(row["batchid"]), row["courseid"]) for row in rows]


def check_batches_for_channel(source: Source, batch_ids: Sequence[str], channel: str) -> None:
    """What the API checks at submit, for the CLI: every batch exists, and (unless the channel is Sunbird's
    `System`) its course belongs to `channel`: the hierarchy's channel, else the batch's created_for."""
    rows = source.tables.read("course_batch", {"batchid": list(batch_ids)}).to_pylist()
    found = {row.get("batchid"): row for row in reversed(rows)}  # duplicates: the first row counts
    unknown = [b for b in batch_ids if b not in found]
    if unknown:
        raise BadInput(f"batch {', '.join(unknown)} not found")
    if channel == "System":
        return
    for batch_id in batch_ids:
        row = found[batch_id]
        try:
            owner = (
                source.hierarchy(row.get("courseid") or "").get("channel") if row.get("courseid") else None
            )
        except HierarchyNotFound:
            owner = None
        if owner:
            allowed = str(owner) == channel
        else:
            created_for = row.get("created_for")
            if isinstance(created_for, str):
                try:
                    created_for = json.loads(created_for)
                except json.JSONDecodeError:
                    created_for = [created_for]
            allowed = (
                channel in [str(c) for c in (created_for or [])] if isinstance(created_for, list) else False
            )
        if not allowed:
            raise BadInput(f"batch {batch_id} does not belong to channel {channel}")
