"""A finished report read through the API on the embedded default (SQLite, local folder): signed links
that download, then fail when tampered with or expired; plus health, metrics and docs."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from exhaust.jobs.worker import Worker
from exhaust.outputs.signing import local_download_url
from exhaust.outputs.storage import open_storage
from tests.api.conftest import SIGNING_SECRET
from tests.api.data import BA1, CH_A
from tests.api.live import LiveApi, headers, submit_body
from tests.api.test_validation import assert_error

TAG = f"do_course_a_{BA1}"


@pytest.fixture(scope="module")
def finished(sqlite_api: LiveApi) -> dict:
    """A userinfo request submitted through the API and built by a real worker."""
    admin = sqlite_api.token(CH_A, "ORG_ADMIN", user="admin-a")
    with httpx.Client(base_url=sqlite_api.url, timeout=30) as client:
        body = submit_body(TAG, "userinfo-exhaust", {"batchId": BA1}, encryptionKey="Zip4pass")
        job = client.post("/api/dataset/v1/request/submit", json=body, headers=headers(admin, CH_A)).json()[
            "result"
        ]
    settings = sqlite_api.settings
    done = Worker(sqlite_api.store, open_storage(settings), settings).run_one("test-worker")
    assert done is not None and done.request_id == job["requestId"] and done.status == "SUCCESS", done
    return {"admin": admin, "requestId": job["requestId"]}


def read_job(client: httpx.Client, finished: dict) -> dict:
    response = client.get(
        f"/api/dataset/v1/request/read/{TAG}",
        params={"requestId": finished["requestId"]},
        headers=headers(finished["admin"], CH_A),
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_signed_link_downloads_the_report(sqlite_api: LiveApi, finished: dict) -> None:
    with httpx.Client(base_url=sqlite_api.url, timeout=30) as client:
        job = read_job(client, finished)
        assert job["status"] == "SUCCESS" and job["attempts"] == 1
        assert job["jobStats"]["dtJobCompleted"] >= job["jobStats"]["dtJobSubmitted"]
        assert isinstance(job["jobStats"]["executionTime"], int)
        assert job["lastUpdated"] == job["jobStats"]["dtJobCompleted"]
        [url] = job["downloadUrls"]
        parts = urlsplit(url)
        assert parts.path.startswith(f"/download/userinfo-exhaust/{finished['requestId']}/{BA1}_userinfo_")
        expires = int(parse_qs(parts.query)["expires"][0])
        assert abs(expires * 1000 - job["expiresAt"]) <= 2000
        assert abs(expires - (time.time() + 30 * 60)) < 120

        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        assert f'filename="{parts.path.rsplit("/", 1)[1]}"' in response.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            [name] = archive.namelist()
            rows = list(csv.reader(io.StringIO(archive.read(name, pwd=b"Zip4pass").decode("utf-8"))))
        assert rows[0][:3] == ["Collection Id", "Collection Name", "Batch Id"]
        assert {row[4] for row in rows[1:]} == {"learner-1", "learner-2", "learner-3"}

        again = read_job(client, finished)["downloadUrls"][0]
        assert client.get(again).content == response.content


def test_tampered_links_are_refused(sqlite_api: LiveApi, finished: dict) -> None:
    with httpx.Client(base_url=sqlite_api.url, timeout=30) as client:
        url = read_job(client, finished)["downloadUrls"][0]
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        signature, expires = query["signature"][0], int(query["expires"][0])
        flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
        other_key = parts.path.replace(BA1, "ba2")
        for tampered in (
            f"{parts.path}?expires={expires}&signature={flipped}",
            f"{parts.path}?expires={expires + 3600}&signature={signature}",
            f"{other_key}?expires={expires}&signature={signature}",
            f"{parts.path}?expires={expires}",
            f"{parts.path}?expires=soon&signature={signature}",
            parts.path,
        ):
            response = client.get(tampered)
            assert_error(response, 403, "FORBIDDEN", "This download link is not valid.", "exhaust.download")
        traversal = client.get(f"/download/..%2F..%2Fjobs.sqlite3?expires={expires}&signature={signature}")
        assert traversal.status_code in (403, 404) and b"SQLite" not in traversal.content


def test_expired_link_is_refused(sqlite_api: LiveApi, finished: dict) -> None:
    with httpx.Client(base_url=sqlite_api.url, timeout=30) as client:
        key = urlsplit(read_job(client, finished)["downloadUrls"][0]).path.removeprefix("/download/")
        expired = local_download_url(key, expires=int(time.time()) - 1, secret=SIGNING_SECRET.encode())
        response = client.get(expired)
        assert_error(
            response,
            403,
            "FORBIDDEN",
            "This download link has expired; read the request again for a fresh link.",
            "exhaust.download",
        )
        fresh = local_download_url(key, expires=int(time.time()) + 60, secret=SIGNING_SECRET.encode())
        assert client.get(fresh).status_code == 200


def test_signed_link_to_a_missing_file_is_a_404(sqlite_api: LiveApi) -> None:
    url = local_download_url(
        "progress-exhaust/NOPE/x.zip", expires=int(time.time()) + 60, secret=SIGNING_SECRET.encode()
    )
    response = httpx.get(sqlite_api.url + url)
    assert_error(response, 404, "RESOURCE_NOT_FOUND", "This file no longer exists.", "exhaust.download")


def test_health_metrics_and_docs(sqlite_api: LiveApi, finished: dict) -> None:
    with httpx.Client(base_url=sqlite_api.url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        client.post(
            "/dataset/v1/request/submit",
            json=submit_body(TAG, "response-exhaust", {"batchId": "nope"}),
            headers=headers(finished["admin"], CH_A),
        )
        assert client.get("/metrics").status_code == 401
        forbidden = client.get("/metrics", headers={"Authorization": f"Bearer {finished['admin']}"})
        assert forbidden.status_code == 403  # an org admin's token is not a scraper's
        scraper = sqlite_api.token(CH_A, "SERVICE")
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert (
            'exhaust_api_requests_total{dataset="userinfo-exhaust",endpoint="submit",status="200"} 1.0'
            in text
        )
        assert (
            'exhaust_api_requests_total{dataset="response-exhaust",endpoint="submit",status="400"} 1.0'
            in text
        )
        assert 'exhaust_jobs{dataset="userinfo-exhaust",status="SUCCESS"} 1.0' in text
        assert "exhaust_queue_depth 0.0" in text
        assert 'exhaust_job_duration_seconds_count{dataset="userinfo-exhaust"} 1.0' in text
        assert 'exhaust_job_duration_seconds_bucket{dataset="userinfo-exhaust",le="+Inf"} 1.0' in text
        assert 'exhaust_api_request_duration_seconds_count{endpoint="read"}' in text

        docs = client.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        schema = client.get("/openapi.json").json()
        assert {
            "/dataset/v1/request/submit",
            "/dataset/v1/request/read/{tag}",
            "/dataset/v1/request/list/{tag}",
            "/dataset/v1/request/search",
            "/download/{key}",
            "/healthz",
            "/metrics",
        } <= set(schema["paths"])
        body = schema["paths"]["/dataset/v1/request/submit"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]  # the pydantic model (issue 14)
        assert schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"] == ["request"]
