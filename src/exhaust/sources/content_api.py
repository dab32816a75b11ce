"""Sunbird's content service over HTTP: collection hierarchies and composite search.

Given the public API base (what precedes `/course/v1/hierarchy/<id>`), hierarchies come from
`GET {base}/course/v1/hierarchy/<id>` (the tree in `result.content`) and search from
`POST {base}/composite/v1/search`. Unlike the reference, search pages until the results are exhausted.
Every request has a timeout; 5xx answers, 429 and network errors are retried with back-off, and the
last failure becomes one plain sentence.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import httpx

from exhaust.errors import SourceDataError
from exhaust.sources.failures import SourceUnavailable, redact_url

HIERARCHY_PATH = "/course/v1/hierarchy/"
SEARCH_PATH = "/composite/v1/search"


class ContentApi:
    """`ContentStore` and `CollectionSearch` backed by Sunbird's content service."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        retries: int = 3,
        *,
        page_size: int = 100,
        max_results: int = 100_000,
        backoff: float = 0.5,
        api_key: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.page_size = page_size
        self.max_results = max_results
        self.backoff = backoff
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(timeout=timeout, headers=headers, follow_redirects=True)

    def close(self) -> None:
        self._client.close()

    def hierarchies(self, collection_ids: Sequence[str]) -> dict[str, dict]:
        """Hierarchy trees of the collections that exist; an unknown id (404) is left out."""
        found: dict[str, dict] = {}
        for collection_id in dict.fromkeys(collection_ids):
            body = self._request("GET", HIERARCHY_PATH + quote(collection_id, safe=""), missing_ok=True)
            if body is None:
                continue
            content = _result(body, f"hierarchy of {collection_id}").get("content")
            if not isinstance(content, dict):
                raise SourceDataError(
                    f"content service hierarchy of {collection_id} has no result.content object"
                )
            found[collection_id] = content
        return found

    def search(self, filters: Mapping[str, object], fields: Sequence[str] | None = None) -> list[dict]:
        """Every item matching `filters`, paged with limit/offset until the service has no more.

        Items are gathered from every list under `result` (`content`, `collections`, `QuestionSet`,
        ...) as the reference does; an identifier seen twice is kept once (the first time). Paging ends
        at a short or empty page, at `result.count`, or when a page brings nothing new (a service that
        ignores `offset`).
        """
        items: list[dict] = []
        seen: set[str] = set()
        offset = 0
        while True:
            if offset >= self.max_results:
                raise SourceDataError(
                    f"content search matched more than {self.max_results} items; narrow the search filters"
                )
            page, total = self._search_page(filters, fields, offset)
            fresh = _keep_new(page, items, seen)
            offset += len(page)
            if len(page) < self.page_size or fresh == 0 or (total is not None and offset >= total):
                return items

    def _search_page(
        self, filters: Mapping[str, object], fields: Sequence[str] | None, offset: int
    ) -> tuple[list[object], int | None]:
        """One page of search results (items from every list under `result`) and `result.count` if given."""
        request: dict[str, object] = {"filters": dict(filters), "limit": self.page_size, "offset": offset}
        if fields:
            request["fields"] = list(fields)
        result = _result(self._request("POST", SEARCH_PATH, json={"request": request}), "search")
        page = [
            item
            for key, value in result.items()
            if key != "count" and isinstance(value, list)
            for item in value
        ]
        count = result.get("count")
        return page, count if isinstance(count, int) else None

    def _request(
        self, method: str, path: str, *, json: object = None, missing_ok: bool = False
    ) -> dict | None:
        url = self.base_url + path
        shown = f"{method} {redact_url(url)}"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, url, json=json)
            except httpx.TimeoutException:
                problem = "timed out"
                continue
            except httpx.TransportError as exc:
                problem = f"could not connect ({exc.__class__.__name__})"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                problem = f"answered HTTP {response.status_code}"
                continue
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code >= 400:
                raise SourceUnavailable(
                    f"content service refused {shown}: HTTP {response.status_code}{_error_text(response)}"
                )
            try:
                body = response.json()
            except RecursionError:
                raise SourceDataError(f"content service answer to {shown} is nested too deeply") from None
            except ValueError:
                raise SourceDataError(f"content service answer to {shown} is not JSON") from None
            if not isinstance(body, dict):
                raise SourceDataError(f"content service answer to {shown} is not a JSON object")
            return body
        attempts = self.retries + 1
        raise SourceUnavailable(
            f"content service {problem} for {shown} ({attempts} attempt{'s' if attempts > 1 else ''})"
        )


def _result(body: dict | None, what: str) -> dict:
    result = (body or {}).get("result")
    if not isinstance(result, dict):
        raise SourceDataError(f"content service {what} answer has no result object")
    return result


def _error_text(response: httpx.Response) -> str:
    """Sunbird's error message (`params.errmsg`), when the body carries one."""
    try:
        params = response.json().get("params") or {}
    except (ValueError, AttributeError):
        return ""
    message = params.get("errmsg") if isinstance(params, dict) else None
    return f" ({str(message)[:120]})" if message else ""


def _keep_new(page: list[object], items: list[dict], seen: set[str]) -> int:
    """Append the items of `page` not seen before (by identifier) to `items`; how many were new."""
    fresh = 0
    for item in page:
        if not isinstance(item, dict):
            raise SourceDataError("content service search returned an item that is not a JSON object")
        identifier = item.get("identifier")
        if identifier is not None and identifier in seen:
            continue
        if identifier is not None:
            seen.add(identifier)
        items.append(item)
        fresh += 1
    return fresh
