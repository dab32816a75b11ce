"""The content service client against a loopback HTTP server serving the upstream mock responses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from exhaust.errors import SourceDataError
from exhaust.sources.content_api import ContentApi
from exhaust.sources.cql import parse_cql_inserts
from exhaust.sources.failures import SourceUnavailable
from tests.sources.live_services import http_server

REPORT_DATA = "lern-data-products/src/test/resources/exhaust/report_data.cql"
MOCKS = "extracted-from-test-code/mock-http-responses"
HIERARCHY = "/api/course/v1/hierarchy/"
SEARCH = "/api/composite/v1/search"


@pytest.fixture(scope="module")
def search_body(sunbird_fixtures: Path) -> dict:
    return json.loads((sunbird_fixtures / MOCKS / "content-search.BaseReportSpec.json").read_text())


@pytest.fixture(scope="module")
def hierarchies(sunbird_fixtures: Path) -> dict[str, dict]:
    """The upstream `content_hierarchy` rows (report_data.cql), as the hierarchy API would return them."""
    text = (sunbird_fixtures / REPORT_DATA).read_text()
    rows = [row for _, table, row in parse_cql_inserts(text) if table == "content_hierarchy"]
    return {row["identifier"]: json.loads(row["hierarchy"]) for row in rows}


def content_service(search_body: dict, hierarchies: dict[str, dict], mode: str = "paged"):
    """A handler: `paged` honours limit/offset; `upstream` returns the verbatim mock whatever is asked;
    `flaky` answers 500 to the first request of each path; `down` always answers 503."""
    items = search_body["result"]["content"]
    calls: dict[str, int] = {}

    def handle(method: str, path: str, body: dict | None) -> tuple[int, object]:
        calls[path] = calls.get(path, 0) + 1
        if mode == "down" or (mode == "flaky" and calls[path] == 1):
            return (503 if mode == "down" else 500), {"params": {"errmsg": "server trouble"}}
        if method == "GET" and path.startswith(HIERARCHY):
            identifier = path.removeprefix(HIERARCHY)
            if identifier not in hierarchies:
                return 404, {
                    "responseCode": "RESOURCE_NOT_FOUND",
                    "params": {"errmsg": f"{identifier} not found"},
                }
            return 200, {
                "id": "api.course.hierarchy",
                "responseCode": "OK",
                "result": {"content": hierarchies[identifier]},
            }
        if method == "POST" and path == SEARCH:
            if mode == "upstream":
                return 200, search_body
            request = body["request"]
            offset, limit = request["offset"], request["limit"]
            page = items[offset : offset + limit]
            return 200, {"id": "api.search", "result": {"count": len(items), "content": page}}
        return 400, {"params": {"errmsg": f"unknown path {path}"}}

    return handle


def test_hierarchies_by_id_from_result_content(search_body, hierarchies) -> None:
    known = sorted(hierarchies)[:2]
    with http_server(content_service(search_body, hierarchies)) as (base, requests):
        found = ContentApi(base, timeout=5).hierarchies([*known, "do_missing"])
    assert found == {identifier: hierarchies[identifier] for identifier in known}
    assert [r.path for r in requests] == [HIERARCHY + i for i in [*known, "do_missing"]]


def test_search_pages_until_exhausted(search_body, hierarchies) -> None:
    filters = {"identifier": ["do_1130928636168192001667"], "status": ["Live", "Unlisted", "Retired"]}
    with http_server(content_service(search_body, hierarchies)) as (base, requests):
        found = ContentApi(base, timeout=5, page_size=5).search(filters, fields=["identifier", "name"])
    offsets = [r.body["request"]["offset"] for r in requests]
    assert offsets == [0, 5, 10]  # 13 items in pages of 5: the reference would have stopped after one
    assert all(r.body["request"]["filters"] == filters for r in requests)
    assert all(r.body["request"]["fields"] == ["identifier", "name"] for r in requests)
    ids = [item["identifier"] for item in found]
    assert len(ids) == 12 and len(set(ids)) == 12  # the mock lists do_1128870328040161281204 twice
    expected = list(dict.fromkeys(item["identifier"] for item in search_body["result"]["content"]))
    assert ids == expected
    first = next(item for item in found if item["identifier"] == "do_1130928636168192001667")
    assert (first["name"], first["userConsent"], first["status"]) == ("24 aug course", "Yes", "Live")


def test_search_stops_when_the_service_ignores_offset(search_body, hierarchies) -> None:
    with http_server(content_service(search_body, hierarchies, mode="upstream")) as (base, requests):
        found = ContentApi(base, timeout=5, page_size=5).search({"identifier": ["x"]})
    assert len(requests) == 2  # the second page brought nothing new
    assert len(found) == 12


def test_a_500_is_retried(search_body, hierarchies) -> None:
    identifier = sorted(hierarchies)[0]
    with http_server(content_service(search_body, hierarchies, mode="flaky")) as (base, requests):
        api = ContentApi(base, timeout=5, retries=2, backoff=0.01)
        assert api.hierarchies([identifier]) == {identifier: hierarchies[identifier]}
        assert len(api.search({"status": ["Live"]})) == 12
    statuses = [r.path for r in requests]
    assert statuses.count(HIERARCHY + identifier) == 2
    assert statuses.count(SEARCH) == 2


def test_persistent_5xx_is_a_clear_error(search_body, hierarchies) -> None:
    with (
        http_server(content_service(search_body, hierarchies, mode="down")) as (base, requests),
        pytest.raises(SourceUnavailable) as caught,
    ):
        ContentApi(base, timeout=5, retries=2, backoff=0.01).hierarchies(["do_x"])
    assert len(requests) == 3
    message = str(caught.value)
    assert (
        "answered HTTP 503" in message
        and "/api/course/v1/hierarchy/do_x" in message
        and "3 attempts" in message
    )


def test_a_slow_service_times_out_instead_of_hanging() -> None:
    def slow(method: str, path: str, body: dict | None) -> tuple[int, object]:
        time.sleep(1.5)
        return 200, {"result": {"content": {}}}

    with http_server(slow) as (base, requests):
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="timed out"):
            ContentApi(base, timeout=0.3, retries=1, backoff=0.01).hierarchies(["do_x"])
        assert time.monotonic() - started < 3
    assert len(requests) == 2


def test_unreachable_service_is_a_clear_error() -> None:
    with pytest.raises(SourceUnavailable, match="could not connect"):
        ContentApi("http://127.0.0.1:1/api", timeout=1, retries=1, backoff=0.01).search({"identifier": ["x"]})


def test_refusal_and_bad_answers_are_clear_errors() -> None:
    def answer(method: str, path: str, body: dict | None) -> tuple[int, object]:
        if path.endswith("/bad-request"):
            return 400, {"params": {"errmsg": "Invalid request"}}
        if path.endswith("/not-json"):
            return 200, b"<html>gateway</html>"
        return 200, {"result": {"content": ["not", "an object"]}}

    with http_server(answer) as (base, _):
        api = ContentApi(base, timeout=5, retries=0)
        with pytest.raises(
            SourceUnavailable, match=r"refused GET .*/bad-request: HTTP 400 \(Invalid request\)"
        ):
            api.hierarchies(["bad-request"])
        with pytest.raises(SourceDataError, match="is not JSON"):
            api.hierarchies(["not-json"])
        with pytest.raises(SourceDataError, match=r"no result\.content object"):
            api.hierarchies(["odd"])


def test_api_key_is_sent_as_bearer_token() -> None:
    def answer(method: str, path: str, body: dict | None) -> tuple[int, object]:
        return 200, {"result": {"count": 0, "content": []}}

    with http_server(answer) as (base, requests):
        assert ContentApi(base, timeout=5, api_key="k-123").search({"identifier": ["x"]}) == []
    assert [r.headers.get("Authorization") for r in requests] == ["Bearer k-123"]
