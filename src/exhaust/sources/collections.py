"""Collection metadata first, as Sunbird reads it: the search record, then the hierarchy.

Sunbird asks content search for a collection's `name`, `status`, `channel` and `userConsent` before it
reads the hierarchy, so a retired collection is refused, and a collection that does not ask for consent is
refused a user-info report, even when its hierarchy is gone. Here the record comes from the source's
collection search (the content service, a fixture folder's search response, or, without either, the stored
hierarchies' roots); a collection search does not know falls back to its hierarchy's root.
"""

from __future__ import annotations

from collections.abc import Sequence

from exhaust.errors import HierarchyNotFound
from exhaust.sources.base import Source

RECORD_FIELDS = ("identifier", "name", "status", "channel", "userConsent")
# Sunbird's validCollection asks for these statuses explicitly (search defaults to Live only).
SEARCHED_STATUSES = ("Live", "Unlisted", "Retired")


def collection_records(source: Source, collection_ids: Sequence[str]) -> dict[str, dict]:
    """identifier -> {name, status, channel, userConsent} for every collection found (first record wins)."""
    wanted = sorted(set(collection_ids))
    if not wanted:
        return {}
    records: dict[str, dict] = {}
    for item in source.search_collections({"identifier": wanted, "status": list(SEARCHED_STATUSES)}):
        identifier = item.get("identifier")
        if identifier in wanted and identifier not in records:
            records[identifier] = {f: item.get(f) for f in RECORD_FIELDS}
    for identifier in wanted:
        if identifier in records:
            continue
        try:
            tree = source.hierarchy(identifier)
        except HierarchyNotFound:
            continue
        records[identifier] = {f: tree.get(f) for f in RECORD_FIELDS} | {"identifier": identifier}
    return records


def is_retired(record: dict | None) -> bool:
    return record is not None and str(record.get("status") or "").lower() == "retired"


def asks_user_consent(record: dict | None) -> bool:
    """Sunbird's rule: `userConsent` equal to `yes` in any case; missing is no."""
    return record is not None and str(record.get("userConsent") or "").strip().lower() == "yes"


def collection_tree(source: Source, collection_id: str, record: dict | None, *, required: bool) -> dict:
    """The hierarchy with the record's metadata in its root (the record wins, as Sunbird reads search).

    Without a stored hierarchy, a report that does not need one (user info, responses) gets a leafless
    tree made of the record; one that does (progress) gets HierarchyNotFound.
    """
    try:
        tree = source.hierarchy(collection_id)
    except HierarchyNotFound:
        if required or not record:
            raise
        tree = {"identifier": collection_id, "children": []}
    if record:
        known = {k: v for k, v in record.items() if v is not None}
        tree = {**tree, **known}
    return tree
