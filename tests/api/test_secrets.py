"""`encryption_key` never appears in a response or a log line, and no error becomes an HTML 500 page."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from exhaust.api import create_app
from exhaust.api.middleware import describe
from exhaust.settings import Settings
from tests.api.data import BA1, CH_A, write_api_source
from tests.api.live import LiveApi, headers, submit_body


def test_key_is_in_no_response_and_no_log_line(api: LiveApi, client: httpx.Client, tag: str) -> None:
    key = f"Key{secrets.token_hex(8)}"
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    service = api.token(CH_A, "SERVICE", user="svc")
    sent = headers(admin, CH_A)
    texts = []
    body = submit_body(tag, "userinfo-exhaust", {"batchId": BA1}, encryptionKey=key)
    submitted = client.post("/dataset/v1/request/submit", json=body, headers=sent)
    assert submitted.status_code == 200
    texts.append(submitted.text)
    rid = submitted.json()["result"]["requestId"]
    texts.append(client.get(f"/dataset/v1/request/read/{tag}", params={"requestId": rid}, headers=sent).text)
    texts.append(client.get(f"/dataset/v1/request/list/{tag}", headers=sent).text)
    search = {"request": {"filters": {"dataset": "userinfo-exhaust"}, "limit": 1000}}
    found = client.post("/request/search", json=search, headers=headers(service))
    assert rid in found.text
    texts.append(found.text)
    # Rejected requests carrying a key: the messages do not echo it.
    for rejected in (
        submit_body(tag, "userinfo-exhaust", {"batchId": "nope"}, encryptionKey=key),
        submit_body(tag, "userinfo-exhaust", {"batchId": BA1}, encryptionKey=key * 40),
        submit_body(tag, "userinfo-exhaust", {"batchId": BA1}, encryptionKey=key, requestedBy="other"),
    ):
        response = client.post("/dataset/v1/request/submit", json=rejected, headers=sent)
        assert response.status_code in (400, 403)
        texts.append(response.text)
    assert all(key not in text for text in texts)
    with api.store.engine.connect() as conn:  # it is stored, for the worker
        assert (
            conn.execute(api.store.t.select().where(api.store.t.c.request_id == rid))
            .mappings()
            .one()["encryption_key"]
            == key
        )
    log = api.log_text()
    assert "/dataset/v1/request/submit" in log  # the access log is there
    assert key not in log


def test_database_errors_are_logged_without_their_parameters() -> None:
    error = IntegrityError(
        "INSERT INTO job_request (tag, encryption_key) VALUES (%(tag)s, %(encryption_key)s)",
        {"tag": "t", "encryption_key": "TopSecret1"},
        Exception("duplicate key value violates unique constraint\nDETAIL:  Key (tag)=(TopSecret1) exists."),
    )
    assert "TopSecret1" in str(error)
    text = describe(error)
    assert "TopSecret1" not in text and "IntegrityError" in text and "duplicate key value" in text


@pytest.fixture
def in_process(tmp_path: Path) -> TestClient:
    settings = Settings(
        data_dir=tmp_path / "data", source=str(write_api_source(tmp_path / "source")), signing_secret="s"
    )
    app = create_app(settings)
    broken = APIRouter()

    @broken.get("/boom")
    def boom() -> None:
        raise IntegrityError(
            "UPDATE job_request SET encryption_key=%(k)s", {"k": "TopSecret2"}, Exception("x")
        )

    app.include_router(broken)
    return TestClient(app, raise_server_exceptions=False)


def test_unexpected_errors_are_a_json_500_without_secrets(
    in_process: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = in_process.get("/boom")
    assert response.status_code == 500
    envelope = response.json()
    assert envelope["responseCode"] == "SERVER_ERROR" and envelope["params"]["status"] == "failed"
    assert "internal error" in envelope["params"]["errmsg"]
    assert "TopSecret2" not in response.text
    assert "IntegrityError" in caplog.text and "TopSecret2" not in caplog.text


def test_unreadable_source_is_a_503(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path / "data", source=str(tmp_path / "missing"), signing_secret="s")
    app = create_app(settings)
    token = app.state.context.tokens.create(channel=CH_A, roles=["ORG_ADMIN"], user_id="a")
    with TestClient(app) as client, caplog.at_level(logging.WARNING):
        response = client.post(
            "/dataset/v1/request/submit",
            json=submit_body("t", config={"batchId": BA1}),
            headers=headers(token, CH_A),
        )
    assert response.status_code == 503
    assert response.json()["params"]["errmsg"] == (
        "The platform data could not be read to check the batch; please try again shortly."
    )
    assert "does not exist" in caplog.text
