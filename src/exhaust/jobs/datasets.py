"""The datasets a request may name, their file-name keys, and the validation of `datasetConfig`.

Submit-time validation catches what Sunbird only finds the next morning in the Spark job: an unknown
dataset, not exactly one batch selector, too many batches, a missing encryption key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exhaust.errors import BadInput
from exhaust.reports import registry

# Views of the dataset registry (reports/registry.py) under the names the job layer uses.
#: dataset (job_id) -> the report key used in file names (`<batchId>_<key>_<yyyyMMdd>.zip`).
REPORT_KEYS: dict[str, str] = {d.name: d.file_key for d in registry.DATASETS.values()}
DATASETS: tuple[str, ...] = registry.NAMES
#: Datasets whose file holds personal data: always delivered in a password-protected zip.
KEY_REQUIRED: frozenset[str] = registry.PERSONAL
#: Sunbird's `data_exhaust.batch.limit.per.request`.
MAX_BATCHES = 20
#: Collection fields a searchFilter may match on (what every source knows of a collection).
SEARCH_FIELDS: tuple[str, ...] = ("identifier", "channel", "status", "name")

_SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$")


@dataclass(frozen=True)
class BatchSelector:
    """Exactly one of: a batch id, a list of batch ids, or collection search filters."""

    batch_ids: tuple[str, ...] = ()
    search: Mapping[str, tuple[str, ...]] | None = None
    profile: str | None = None


def check_batch_id(batch_id: Any) -> str:
    """A batch id safe to put in an object key (it becomes part of the file name)."""
    if not isinstance(batch_id, str) or not _SAFE_ID.match(batch_id):
        raise BadInput(
            f"invalid batch id {batch_id!r}: use letters, digits, '_', '-', '.' or ':' (at most 100 characters)"
        )
    return batch_id


def parse_request_data(data: Any) -> BatchSelector:
    """Validate a `datasetConfig` / `request_data` object and return what it selects."""
    if not isinstance(data, Mapping):
        raise BadInput("the request data must be a JSON object with batchId, batchFilter or searchFilter")
    given = [
        name
        for name in ("batchId", "batchFilter", "searchFilter")
        if data.get(name) not in (None, "", [], {})
    ]
    if len(given) != 1:
        raise BadInput("the request must have exactly one of batchId, batchFilter or searchFilter")
    profile = data.get("profile")
    if profile is not None and (not isinstance(profile, str) or not _SAFE_ID.match(profile)):
        raise BadInput(f"invalid profile name {profile!r}")
    if given[0] == "batchId":
        return BatchSelector((check_batch_id(data["batchId"]),), profile=profile)
    if given[0] == "batchFilter":
        raw = data["batchFilter"]
        if not isinstance(raw, list):
            raise BadInput("batchFilter must be a list of batch ids")
        ids = tuple(dict.fromkeys(check_batch_id(b) for b in raw))
        if len(ids) > MAX_BATCHES:
            raise BadInput(f"Number of batches in request exceeded. It should be within {MAX_BATCHES}")
        return BatchSelector(ids, profile=profile)
    return BatchSelector(search=parse_search_filter(data["searchFilter"]), profile=profile)


def parse_search_filter(raw: Any) -> dict[str, tuple[str, ...]]:
    """Collection filters from a Sunbird composite-search body, `{"filters": …}` or a bare filter map."""
    if isinstance(raw, Mapping) and isinstance(raw.get("request"), Mapping):
        raw = raw["request"]
    if isinstance(raw, Mapping) and isinstance(raw.get("filters"), Mapping):
        raw = raw["filters"]
    if not isinstance(raw, Mapping) or not raw:
        raise BadInput('searchFilter must be an object of collection filters, e.g. {"channel": "ORG_1"}')
    unknown = sorted(set(raw) - set(SEARCH_FIELDS))
    if unknown:
        raise BadInput(f"searchFilter cannot filter on {', '.join(unknown)}; use {', '.join(SEARCH_FIELDS)}")
    filters: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise BadInput(f"searchFilter {name} must be a text value or a list of them")
        filters[name] = tuple(values)
    return filters


def check_request(dataset: str, request_data: Any, encryption_key: str | None) -> BatchSelector:
    """Everything a request must satisfy before it is queued (and again when a worker runs it)."""
    registry.get(dataset)  # an unknown dataset is a one-line BadInput naming the known ones
    selector = parse_request_data(request_data)
    if dataset in KEY_REQUIRED and not encryption_key:
        raise BadInput(
            f"{dataset} holds personal data: the request needs an encryption key (the zip password)"
        )
    return selector
