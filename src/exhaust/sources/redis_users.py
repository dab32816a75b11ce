"""Sunbird's Redis caches: user profiles (`user:<id>` hashes) and course optional nodes (sets).

Sunbird keeps user profiles only in Redis. Reports read exactly the enrolled users of a batch, with
pipelined HGETALL in chunks, instead of loading the whole cache as the reference job does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa
import redis

from exhaust.errors import SourceDataError
from exhaust.sources.failures import SourceUnavailable, redact_url
from exhaust.sources.schema import TABLES, USER_FIELDS

USER_KEY_PREFIX = "user:"
OPTIONAL_NODES_SUFFIX = "optionalnodes"
# Fields Sunbird's writers once stored as JSON arrays of which the reference reads the first element.
FIRST_ELEMENT_FIELDS = frozenset({"board"})


def _client(url: str, timeout: float) -> redis.Redis:
    try:
        return redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    except ValueError as exc:
        raise SourceUnavailable(f"invalid Redis URL {redact_url(url)}: {exc}") from None


def _unavailable(what: str, url: str, exc: Exception) -> SourceUnavailable:
    return SourceUnavailable(f"cannot read the {what} at {redact_url(url)}: {exc}")


def cache_value(field: str, value: str | None) -> str | None:
    """One hash value as the report needs it.

    Newer cache writers escape `[` and `]` inside strings as `\\[`, `\\]`; older ones stored framework
    fields as JSON array text such as `["IGOT-Health"]`. Such an array becomes its first element for
    `board` (the reference's rule) and its elements joined by `,` elsewhere.
    """
    if value is None:
        return None
    text = value.replace("\\[", "[").replace("\\]", "]")
    stripped = text.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        return text
    try:
        items = json.loads(stripped)
    except json.JSONDecodeError:
        return text
    if not isinstance(items, list) or any(isinstance(item, dict | list) for item in items):
        return text
    items = ["" if item is None else str(item) for item in items]
    if not items:
        return None
    return items[0] if field in FIRST_ELEMENT_FIELDS else ",".join(items)


class RedisUsers:
    """`UserStore` over the Redis user cache: `user:<userid>` hashes with Sunbird's field names."""

    def __init__(self, url: str, chunk: int = 1000, timeout: float = 10.0) -> None:
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        self.url = url
        self.chunk = chunk
        self._redis = _client(url, timeout)

    def users(self, user_ids: Sequence[str]) -> pa.Table:
        """Profiles of `user_ids` that have a hash; the user id is taken from the key, not the hash."""
        ids = list(dict.fromkeys(user_ids))
        found: list[str] = []
        hashes: list[dict[str, str]] = []
        for start in range(0, len(ids), self.chunk):
            part = ids[start : start + self.chunk]
            for user_id, values in zip(part, self._hgetall(part), strict=True):
                if values:
                    found.append(user_id)
                    hashes.append(values)
        columns: dict[str, list[str | None]] = {"userid": list(found)}
        for field in USER_FIELDS[1:]:
            columns[field] = [cache_value(field, values.get(field)) for values in hashes]
        return pa.table(columns, schema=TABLES["users"].schema)

    def _hgetall(self, user_ids: list[str]) -> list[dict[str, str]]:
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(USER_KEY_PREFIX + user_id)
        try:
            results = pipe.execute(raise_on_error=False)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise _unavailable("Redis user cache", self.url, exc) from None
        for user_id, result in zip(user_ids, results, strict=True):
            if isinstance(result, Exception):
                raise SourceDataError(
                    f"Redis user cache key {USER_KEY_PREFIX}{user_id} is not a hash ({result})"
                )
        return results


class RedisOptionalNodes:
    """`OptionalNodeStore` over Sunbird's relation cache: `<course>:<course>:optionalnodes` sets."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self._redis = _client(url, timeout)

    def optional_nodes(self, course_id: str) -> set[str]:
        key = f"{course_id}:{course_id}:{OPTIONAL_NODES_SUFFIX}"
        try:
            return {str(member) for member in self._redis.smembers(key)}  # type: ignore[union-attr]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise _unavailable("Redis relation cache", self.url, exc) from None
        except redis.ResponseError as exc:
            raise SourceDataError(f"Redis relation cache key {key} is not a set ({exc})") from None
