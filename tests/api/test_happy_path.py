"""Every endpoint's happy path against a live server, with Sunbird's exact envelope and field names."""

from __future__ import annotations

import re
import time

import httpx
import pytest
import sqlalchemy as sa

from exhaust.jobs.store import request_id, today
from tests.api.data import BA1, BA2, CH_A, MENTOR_1
from tests.api.live import LiveApi, headers, submit_body

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
JOB_FIELDS = {
    "requestId",
    "tag",
    "dataset",
    "requestedBy",
    "requestedChannel",
    "status",
    "lastUpdated",
    "datasetConfig",
    "attempts",
    "jobStats",
    "downloadUrls",
    "expiresAt",
    "statusMessage",
    "progress",
    "phase",
}


def assert_success(response: httpx.Response, api_id: str) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["request-time"]) >= 0
    envelope = response.json()
    assert set(envelope) == {"id", "ver", "ts", "params", "responseCode", "result"}
    assert envelope["id"] == api_id
    assert envelope["ver"] == "1.0"
    assert TS.match(envelope["ts"]), envelope["ts"]
    assert envelope["responseCode"] == "OK"
    assert set(envelope["params"]) == {"resmsgid", "status", "client_key"}
    assert UUID.match(envelope["params"]["resmsgid"])
    assert envelope["params"]["status"] == "successful"
    assert envelope["params"]["client_key"] is None
    return envelope["result"]


def assert_job(job: dict, *, tag: str, channel: str, dataset: str, requested_by: str, config: dict) -> None:
    now_ms = time.time() * 1000
    assert set(job) == JOB_FIELDS
    assert job["tag"] == f"{tag}:{channel}"
    assert job["requestedChannel"] == channel
    assert job["dataset"] == dataset
    assert job["requestedBy"] == requested_by
    assert job["datasetConfig"] == config
    assert job["status"] == "SUBMITTED"
    assert job["attempts"] == 0
    assert job["downloadUrls"] == []
    assert isinstance(job["lastUpdated"], int) and abs(job["lastUpdated"] - now_ms) < 120_000
    assert job["jobStats"]["dtJobSubmitted"] == job["lastUpdated"]
    assert job["jobStats"]["dtJobCompleted"] is None and job["jobStats"]["executionTime"] is None
    assert abs(job["expiresAt"] - (now_ms + 30 * 60 * 1000)) < 120_000
    assert "encryption_key" not in str(job) and "encryptionKey" not in job


@pytest.mark.parametrize("prefix", ["/dataset/v1", "/api/dataset/v1", ""])
def test_submit_read_list_under_every_prefix(
    api: LiveApi, client: httpx.Client, tag: str, prefix: str
) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    body = submit_body(tag, config={"batchId": BA1}, requestedBy="admin-a", output_format="csv")
    result = assert_success(
        client.post(f"{prefix}/request/submit", json=body, headers=headers(admin, CH_A)),
        "ekstep.analytics.dataset.request.submit",
    )
    expected_id = request_id("progress-exhaust", tag, "admin-a", CH_A, today(api.settings.timezone))
    assert result["requestId"] == expected_id
    assert_job(
        result,
        tag=tag,
        channel=CH_A,
        dataset="progress-exhaust",
        requested_by="admin-a",
        config={"batchId": BA1},
    )

    read = assert_success(
        client.get(
            f"{prefix}/request/read/{tag}", params={"requestId": expected_id}, headers=headers(admin, CH_A)
        ),
        "ekstep.analytics.dataset.request.info",
    )
    assert read["requestId"] == expected_id and read["tag"] == f"{tag}:{CH_A}"

    listed = assert_success(
        client.get(f"{prefix}/request/list/{tag}", headers=headers(admin, CH_A)),
        "ekstep.analytics.dataset.request.list",
    )
    assert listed["count"] == 1 and [j["requestId"] for j in listed["jobs"]] == [expected_id]


def test_requested_by_comes_from_the_token(api: LiveApi, client: httpx.Client, tag: str) -> None:
    mentor = api.token(CH_A, "COURSE_MENTOR", user=MENTOR_1)
    result = assert_success(
        client.post(
            "/dataset/v1/request/submit",
            json=submit_body(tag, config={"batchId": BA1}),
            headers=headers(mentor, CH_A),
        ),
        "ekstep.analytics.dataset.request.submit",
    )
    assert result["requestedBy"] == MENTOR_1
    assert result["requestId"] == request_id(
        "progress-exhaust", tag, MENTOR_1, CH_A, today(api.settings.timezone)
    )


def test_same_request_same_day_is_one_row_failed_is_queued_again(
    api: LiveApi, client: httpx.Client, tag: str
) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    body = submit_body(tag, "userinfo-exhaust", {"batchId": BA1}, encryptionKey="First1key")
    first = client.post("/dataset/v1/request/submit", json=body, headers=headers(admin, CH_A)).json()[
        "result"
    ]
    again = client.post("/dataset/v1/request/submit", json=body, headers=headers(admin, CH_A)).json()[
        "result"
    ]
    assert again["requestId"] == first["requestId"] and again["status"] == "SUBMITTED"

    t = api.store.t
    key = sa.and_(t.c.tag == f"{tag}:{CH_A}", t.c.request_id == first["requestId"])
    with api.store.engine.begin() as conn:
        conn.execute(
            sa.update(t).where(key).values(status="FAILED", iteration=3, err_message="No data found")
        )
    body["request"]["encryptionKey"] = "Second2key"
    requeued = client.post("/dataset/v1/request/submit", json=body, headers=headers(admin, CH_A)).json()[
        "result"
    ]
    assert requeued["status"] == "SUBMITTED" and requeued["attempts"] == 0 and requeued["statusMessage"] == ""
    with api.store.engine.connect() as conn:
        row = conn.execute(sa.select(t.c.encryption_key, sa.func.count().over()).where(key)).one()
    assert row == ("Second2key", 1)

    with api.store.engine.begin() as conn:
        conn.execute(sa.update(t).where(key).values(status="SUCCESS"))
    body["request"]["encryptionKey"] = "Third3key"
    unchanged = client.post("/dataset/v1/request/submit", json=body, headers=headers(admin, CH_A)).json()[
        "result"
    ]
    assert unchanged["status"] == "SUCCESS"
    with api.store.engine.connect() as conn:
        assert conn.execute(sa.select(t.c.encryption_key).where(key)).scalar_one() == "Second2key"


def test_list_is_newest_first_and_limited(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    ids = []
    for batch_id, dataset in ((BA1, "progress-exhaust"), (BA2, "response-exhaust")):
        body = submit_body(tag, dataset, {"batchId": batch_id})
        ids.append(
            client.post("/dataset/v1/request/submit", json=body, headers=headers(admin, CH_A)).json()[
                "result"
            ]["requestId"]
        )
        time.sleep(0.01)
    listed = client.get(f"/dataset/v1/request/list/{tag}", headers=headers(admin, CH_A)).json()["result"]
    assert [j["requestId"] for j in listed["jobs"]] == ids[::-1] and listed["count"] == 2
    one = client.get(f"/dataset/v1/request/list/{tag}?limit=1", headers=headers(admin, CH_A)).json()["result"]
    assert [j["requestId"] for j in one["jobs"]] == ids[-1:] and one["count"] == 1
    empty = client.get("/dataset/v1/request/list/no-such-tag", headers=headers(admin, CH_A)).json()["result"]
    assert empty == {"count": 0, "jobs": []}


def test_read_of_unknown_request_is_sunbirds_soft_failure(api: LiveApi, client: httpx.Client) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    response = client.get("/dataset/v1/request/read/no-such-tag?requestId=ABC", headers=headers(admin, CH_A))
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["id"] == "ekstep.analytics.dataset.request.info"
    assert envelope["responseCode"] == "OK"
    assert envelope["params"]["status"] == "failed" and envelope["params"]["err"] == "OK"
    assert envelope["params"]["errmsg"] == "no job available with the given request_id and tag"
    assert envelope["result"] is None


def test_search_by_dataset_status_and_day(api: LiveApi, client: httpx.Client, tag: str) -> None:
    service = api.token(CH_A, "SERVICE", user="cqube")
    body = submit_body(tag, "response-exhaust", {"batchId": BA2}, requestedBy="someone")
    submitted = client.post("/dataset/v1/request/submit", json=body, headers=headers(service, CH_A))
    job = assert_success(submitted, "ekstep.analytics.dataset.request.submit")
    assert job["requestedBy"] == "someone"  # a service names the user it acts for
    day = today(api.settings.timezone).isoformat()
    search = {
        "request": {
            "filters": {"dataset": "response-exhaust", "status": "SUBMITTED", "requestedDate": day},
            "limit": 1000,
        }
    }
    result = assert_success(
        client.post("/request/search", json=search, headers=headers(service)),
        "ekstep.analytics.dataset.request.search",
    )
    assert job["requestId"] in [j["requestId"] for j in result["jobs"]]
    assert result["count"] == len(result["jobs"])
    assert all(j["requestedChannel"] == CH_A and j["dataset"] == "response-exhaust" for j in result["jobs"])
    limited = client.post(
        "/dataset/v1/request/search",
        headers=headers(service, CH_A),
        json={"request": {"filters": {"dataset": "response-exhaust"}, "limit": 1}},
    )
    limited_result = assert_success(limited, "ekstep.analytics.dataset.request.search")
    assert len(limited_result["jobs"]) == 1 and limited_result["count"] >= 1
