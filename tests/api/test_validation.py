"""Every validation error is a 400 (413, 415) JSON envelope with a plain message; none is a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.api.data import BA1, BN1, BR1, CH_A, MANY
from tests.api.live import LiveApi, headers, submit_body

SUBMIT = "/dataset/v1/request/submit"


def assert_error(response: httpx.Response, status: int, code: str, message: str, api_id: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    envelope = response.json()
    assert envelope["id"] == api_id
    assert envelope["ver"] == "1.0"
    assert envelope["responseCode"] == code
    assert envelope["result"] is None
    params = envelope["params"]
    assert params["status"] == "failed" and params["err"] == code and params["client_key"] is None
    assert params["errmsg"] == message


@pytest.fixture(scope="module")
def admin(api: LiveApi) -> str:
    return api.token(CH_A, "ORG_ADMIN", user="admin-a")


def request(**fields) -> dict:
    return {"request": fields}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "request body must be a JSON object"),
        ({"id": "x"}, "request is empty"),
        ({"request": "x"}, "request must be a JSON object"),
        (request(dataset="progress-exhaust", datasetConfig={"batchId": BA1}), "tag is empty"),
        (request(tag="", dataset="progress-exhaust", datasetConfig={"batchId": BA1}), "tag is empty"),
        (request(tag=7, dataset="progress-exhaust", datasetConfig={"batchId": BA1}), "tag must be text"),
        (request(tag="t", datasetConfig={"batchId": BA1}), "dataset is empty"),
        (request(tag="t", dataset="", datasetConfig={"batchId": BA1}), "dataset is empty"),
        (request(tag="t", dataset="progress-exhaust"), "datasetConfig is empty"),
        (request(tag="t", dataset="progress-exhaust", config={"batchId": BA1}), "datasetConfig is empty"),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig=[BA1]),
            "datasetConfig must be a JSON object",
        ),
        (
            request(tag="t", dataset="druid-dataset", datasetConfig={"batchId": BA1}),
            "Provided dataset is invalid. Please use any one from this list - "
            "[progress-exhaust, userinfo-exhaust, response-exhaust, course-mentor]",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={}),
            "the request must have exactly one of batchId, batchFilter or searchFilter",
        ),
        (
            request(
                tag="t", dataset="progress-exhaust", datasetConfig={"batchId": BA1, "batchFilter": [BA1]}
            ),
            "the request must have exactly one of batchId, batchFilter or searchFilter",
        ),
        (
            request(
                tag="t",
                dataset="progress-exhaust",
                datasetConfig={"batchId": BA1, "searchFilter": {"channel": CH_A}},
            ),
            "the request must have exactly one of batchId, batchFilter or searchFilter",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={"batchFilter": MANY[:21]}),
            "Number of batches in request exceeded. It should be within 20",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={"batchFilter": [BA1, "bx01", BA1]}),
            "batchFilter lists a batch more than once: ba1",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={"batchId": "../etc"}),
            "invalid batch id '../etc': use letters, digits, '_', '-', '.' or ':' (at most 100 characters)",
        ),
        (
            request(tag="t", dataset="userinfo-exhaust", datasetConfig={"batchId": BA1}),
            "userinfo-exhaust holds personal data: the request needs an encryption key (the zip password)",
        ),
        (
            request(tag="t", dataset="course-mentor", datasetConfig={"batchId": BA1}, encryptionKey=""),
            "course-mentor holds personal data: the request needs an encryption key (the zip password)",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={"batchId": BA1}, encryptionKey=12),
            "encryptionKey must be text",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={"batchId": "nope"}),
            "batch nope not found",
        ),
        (
            request(
                tag="t", dataset="progress-exhaust", datasetConfig={"batchFilter": [BA1, "nope", "gone"]}
            ),
            "batch nope, gone not found",
        ),
        (
            request(tag="t", dataset="progress-exhaust", datasetConfig={"batchId": BR1}),
            "The request is made for retired collection",
        ),
        (
            request(tag="t" * 120, dataset="progress-exhaust", datasetConfig={"batchId": BA1}),
            "tag (with channel) must be at most 100 characters; channel and requester at most 50",
        ),
        (
            request(tag="t\u0000", dataset="progress-exhaust", datasetConfig={"batchId": BA1}),
            "request body must not contain NUL characters",
        ),
    ],
)
def test_submit_validation_messages(client: httpx.Client, admin: str, body: object, message: str) -> None:
    response = client.post(SUBMIT, json=body, headers=headers(admin, CH_A))
    assert_error(response, 400, "CLIENT_ERROR", message, "ekstep.analytics.dataset.request.submit")


def test_encryption_key_and_batch_filter_pass_validation(client: httpx.Client, admin: str, tag: str) -> None:
    body = submit_body(tag, "userinfo-exhaust", {"batchFilter": [BA1, "bx01"]}, encryptionKey="Passw0rd")
    assert client.post(SUBMIT, json=body, headers=headers(admin, CH_A)).status_code == 200
    # A batch whose course has no hierarchy belongs to the channels its created_for lists.
    body = submit_body(tag, "progress-exhaust", {"batchId": BN1})
    assert client.post(SUBMIT, json=body, headers=headers(admin, CH_A)).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"request": ', b"\xff\xfe\x00", b'{"request": NaN}', b"[" * 50_000 + b"]" * 50_000, b"nul"],
)
def test_malformed_json_is_a_400(client: httpx.Client, admin: str, raw: bytes) -> None:
    response = client.post(SUBMIT, content=raw, headers=headers(admin, CH_A))
    assert_error(
        response,
        400,
        "CLIENT_ERROR",
        "request body is not valid JSON",
        "ekstep.analytics.dataset.request.submit",
    )


def test_empty_body_is_a_400(client: httpx.Client, admin: str) -> None:
    response = client.post(SUBMIT, content=b"  ", headers=headers(admin, CH_A))
    assert_error(
        response, 400, "CLIENT_ERROR", "request body is empty", "ekstep.analytics.dataset.request.submit"
    )


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
@pytest.mark.parametrize("path", [SUBMIT, "/api/dataset/v1/request/search"])
def test_wrong_content_type_is_a_415(
    client: httpx.Client, admin: str, content_type: str | None, path: str
) -> None:
    sent = headers(admin, CH_A)
    del sent["Content-Type"]
    if content_type:
        sent["Content-Type"] = content_type
    response = client.post(path, content=b'{"request": {}}', headers=sent)
    api_id = "ekstep.analytics.dataset.request." + ("submit" if path == SUBMIT else "search")
    assert_error(response, 415, "CLIENT_ERROR", "Content-Type must be application/json", api_id)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "text/json", "application/vnd.x+json"]
)
def test_json_content_types_are_accepted(
    client: httpx.Client, admin: str, tag: str, content_type: str
) -> None:
    sent = headers(admin, CH_A, **{"Content-Type": content_type})
    response = client.post(SUBMIT, json=submit_body(tag, config={"batchId": BA1}), headers=sent)
    assert response.status_code == 200, response.text


def test_huge_body_with_length_is_a_413(api: LiveApi, client: httpx.Client, admin: str) -> None:
    limit = api.settings.api_max_body_bytes
    body = b'{"request": {"tag": "' + b"x" * (limit + 10) + b'"}}'
    response = client.post(SUBMIT, content=body, headers=headers(admin, CH_A))
    assert_error(
        response,
        413,
        "CLIENT_ERROR",
        f"request body is larger than the limit of {limit} bytes",
        "ekstep.analytics.dataset.request.submit",
    )


def test_huge_streamed_body_is_a_413(api: LiveApi, client: httpx.Client, admin: str) -> None:
    limit = api.settings.api_max_body_bytes

    def chunks():
        yield b'{"request": {"tag": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}}'

    response = client.post(SUBMIT, content=chunks(), headers=headers(admin, CH_A))
    assert "content-length" not in response.request.headers
    assert_error(
        response,
        413,
        "CLIENT_ERROR",
        f"request body is larger than the limit of {limit} bytes",
        "ekstep.analytics.dataset.request.submit",
    )


def test_body_just_under_the_limit_is_read(api: LiveApi, client: httpx.Client, admin: str) -> None:
    padding = "x" * (api.settings.api_max_body_bytes - 200)
    body = submit_body("t", config={"batchId": "nope"}, padding=padding)
    response = client.post(SUBMIT, json=body, headers=headers(admin, CH_A))
    assert response.status_code == 400 and response.json()["params"]["errmsg"] == "batch nope not found"


@pytest.mark.parametrize("limit", ["x", "0", "-1", "1001", "1.5"])
def test_bad_list_limit_is_a_400(client: httpx.Client, admin: str, limit: str) -> None:
    response = client.get(f"/dataset/v1/request/list/t?limit={limit}", headers=headers(admin, CH_A))
    assert_error(
        response,
        400,
        "CLIENT_ERROR",
        "limit must be a whole number from 1 to 1000",
        "ekstep.analytics.dataset.request.list",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"request": {}}, "Filters are empty"),
        ({"request": {"filters": {}}}, "Filters are empty"),
        ({"request": {"filters": {"job_id": "progress-exhaust"}}}, "Unsupported filters"),
        (
            {"request": {"filters": {"requestedDate": "01-02-2024"}}},
            "requestedDate must be a date as yyyy-MM-dd",
        ),
        ({"request": {"filters": {"status": ["SUBMITTED"]}}}, "filter status must be text"),
        (
            {"request": {"filters": {"status": "SUBMITTED"}, "limit": "many"}},
            "limit must be a whole number from 1 to 1000",
        ),
        (
            {"request": {"filters": {"status": "SUBMITTED"}, "limit": True}},
            "limit must be a whole number from 1 to 1000",
        ),
        ({"request": {"filters": "status"}}, "filters must be a JSON object"),
    ],
)
def test_search_validation_messages(client: httpx.Client, admin: str, body: dict, message: str) -> None:
    response = client.post("/request/search", json=body, headers=headers(admin, CH_A))
    assert_error(response, 400, "CLIENT_ERROR", message, "ekstep.analytics.dataset.request.search")


def test_unknown_route_and_method_are_json(client: httpx.Client) -> None:
    missing = client.get("/dataset/v1/request/nothing")
    assert missing.status_code == 404 and missing.json()["responseCode"] == "RESOURCE_NOT_FOUND"
    wrong = client.get(SUBMIT)
    assert (
        wrong.status_code == 405
        and wrong.json()["params"]["errmsg"] == "GET is not allowed on this endpoint."
    )
