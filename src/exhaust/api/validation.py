"""Reading and checking request bodies: every bad input is a 400 with one plain sentence, never a 500.

Sunbird's own checks keep their messages (`tag is empty`, `dataset is empty`, `datasetConfig is empty`,
`Filters are empty`, `Unsupported filters`, the batch limit). What Sunbird only found the next morning in
the Spark job (unknown dataset, not exactly one batch selector, duplicates, a missing encryption key) is
checked here, at submit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from exhaust.api.envelope import CLIENT_ERROR, ApiError, bad_request
from exhaust.errors import BadInput
from exhaust.jobs.datasets import DATASETS, MAX_BATCHES, BatchSelector, check_request
from exhaust.jobs.text import tag_problem, text_problem, value_problem

JSON_MEDIA = ("application/json", "text/json")
LIST_LIMIT, MAX_LIST_LIMIT = 100, 1000  # Sunbird's data_exhaust.list.limit, and our ceiling
SEARCH_LIMIT = 10  # Sunbird's dataset.request.search.limit
SEARCH_FILTERS = ("dataset", "channel", "status", "requestedDate")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(content_type: str | None, raw: bytes) -> Any:
    """The parsed JSON body; 415 for another content type, 400 when empty or not JSON."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in JSON_MEDIA and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError(CLIENT_ERROR, "Content-Type must be application/json", status=415)
    if not raw.strip():
        raise bad_request("request body is empty")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad_request("request body is not valid JSON") from None
    if "\\u0000" in json.dumps(data):
        raise bad_request("request body must not contain NUL characters")
    if value_problem(data) is not None:
        raise bad_request("request body must not contain lone UTF-16 surrogates (text must be valid Unicode)")
    return data


def check_path_text(tag: str, request_id: str = "") -> None:
    """400 for a tag or request id no stored request can have (NUL, control characters, surrogates)."""
    found = tag_problem(tag)
    if found and found != "tag is empty":
        raise bad_request(found)
    if text_problem(request_id) or any(ord(char) < 32 for char in request_id):
        raise bad_request("requestId must not contain control characters")


def _request_object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise bad_request("request body must be a JSON object")
    inner = data.get("request")
    if inner is None:
        raise bad_request("request is empty")
    if not isinstance(inner, dict):
        raise bad_request("request must be a JSON object")
    return inner


def _optional_text(inner: Mapping[str, Any], name: str) -> str | None:
    value = inner.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be text")
    return value


@dataclass(frozen=True)
class SubmitRequest:
    """The fields of a submit body that the service reads (`output_format`, `requestedChannel` are ignored)."""

    tag: str
    dataset: str
    config: dict
    requested_by: str | None
    encryption_key: str | None = field(repr=False)


def parse_submit(data: Any) -> SubmitRequest:
    """Sunbird's submit checks, in its order: tag, dataset, datasetConfig (empty text counts as missing)."""
    inner = _request_object(data)
    tag = _optional_text(inner, "tag")
    if tag is None or not tag.strip():
        raise bad_request("tag is empty")
    found = tag_problem(tag)
    if found:
        raise bad_request(found)
    dataset = _optional_text(inner, "dataset")
    if dataset is None:
        raise bad_request("dataset is empty")
    config = inner.get("datasetConfig")
    if config is None:
        raise bad_request("datasetConfig is empty")
    if not isinstance(config, dict):
        raise bad_request("datasetConfig must be a JSON object")
    return SubmitRequest(
        tag=tag,
        dataset=dataset,
        config=config,
        requested_by=_optional_text(inner, "requestedBy"),
        encryption_key=_optional_text(inner, "encryptionKey"),
    )


def check_dataset_request(request: SubmitRequest) -> BatchSelector:
    """What the request selects, once dataset, selector, batch list and key are known to be usable."""
    if request.dataset not in DATASETS:
        raise bad_request(
            f"Provided dataset is invalid. Please use any one from this list - [{', '.join(DATASETS)}]"
        )
    batch_filter = request.config.get("batchFilter")
    if isinstance(batch_filter, list):
        seen: set[Any] = set()
        twice = []
        for b in batch_filter:
            if isinstance(b, str):
                if b in seen:
                    twice.append(b)
                seen.add(b)
        if twice:
            raise bad_request(f"batchFilter lists a batch more than once: {', '.join(dict.fromkeys(twice))}")
        if len(batch_filter) > MAX_BATCHES:
            raise bad_request(f"Number of batches in request exceeded. It should be within {MAX_BATCHES}")
    try:
        return check_request(request.dataset, request.config, request.encryption_key)
    except BadInput as error:
        raise bad_request(error.message) from None


def parse_limit(raw: Any, default: int, maximum: int = MAX_LIST_LIMIT) -> int:
    """A `limit` from a query string or a body: a whole number from 1 to `maximum`."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON's 10.0 is the whole number 10
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise bad_request(f"limit must be a whole number from 1 to {maximum}")
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"limit must be a whole number from 1 to {maximum}") from None
    if not 1 <= value <= maximum:
        raise bad_request(f"limit must be a whole number from 1 to {maximum}")
    return value


@dataclass(frozen=True)
class SearchRequest:
    dataset: str | None
    channel: str | None
    status: str | None
    requested_date: date | None
    limit: int


def parse_search(data: Any) -> SearchRequest:
    """Sunbird's search body: `request.filters` with at least one supported filter, and `limit`."""
    inner = _request_object(data)
    filters = inner.get("filters")
    if not filters:
        raise bad_request("Filters are empty")
    if not isinstance(filters, dict):
        raise bad_request("filters must be a JSON object")
    supported = {name: filters[name] for name in SEARCH_FILTERS if filters.get(name) not in (None, "")}
    if not supported:
        raise bad_request("Unsupported filters")
    for name, value in supported.items():
        if not isinstance(value, str):
            raise bad_request(f"filter {name} must be text")
    requested_date = None
    if "requestedDate" in supported:
        try:
            requested_date = date.fromisoformat(supported["requestedDate"])
        except ValueError:
            raise bad_request("requestedDate must be a date as yyyy-MM-dd") from None
    return SearchRequest(
        dataset=supported.get("dataset"),
        channel=supported.get("channel"),
        status=supported.get("status"),
        requested_date=requested_date,
        limit=parse_limit(inner.get("limit"), SEARCH_LIMIT),
    )
