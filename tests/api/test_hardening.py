"""Issue 14 against a real `exhaust serve`: odd input gets a clear 4xx, never a 500; outages get 503.

Each test names the defect it pins down. The server is the session's (PostgreSQL), except the outage
test, which puts a cuttable TCP proxy between its own server and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from exhaust.jobs.db import utcnow
from exhaust.jobs.store import SUBMITTED, request_id
from tests.api.conftest import server_values
from tests.api.data import BA1, CH_A, CH_B
from tests.api.live import REPO, LiveApi, headers, start_server, submit_body
from tests.api.test_validation import assert_error

SUBMIT, SEARCH = "/dataset/v1/request/submit", "/dataset/v1/request/search"
SUBMIT_ID, READ_ID = "ekstep.analytics.dataset.request.submit", "ekstep.analytics.dataset.request.info"
LIST_ID, SEARCH_ID = "ekstep.analytics.dataset.request.list", "ekstep.analytics.dataset.request.search"
SURROGATE_BODY = "request body must not contain lone UTF-16 surrogates (text must be valid Unicode)"


@pytest.fixture(scope="module")
def admin(api: LiveApi) -> str:
    return api.token(CH_A, "ORG_ADMIN", user="admin-a")


def raw_submit(client: httpx.Client, token: str, text: str) -> httpx.Response:
    """POST a body given as JSON text (a lone surrogate cannot be encoded by httpx's json=)."""
    return client.post(SUBMIT, content=text.encode("ascii"), headers=headers(token, CH_A))


# ---- defect 1: lone surrogates --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_json",
    [
        '{"tag": "TAG", "dataset": "progress-exhaust", "datasetConfig": {"batchId": "ba1", "x": "\\ud83d"}}',
        '{"tag": "TAG\\ud83d", "dataset": "progress-exhaust", "datasetConfig": {"batchId": "ba1"}}',
        '{"tag": "TAG", "dataset": "userinfo-exhaust", "datasetConfig": {"batchId": "ba1"}, "encryptionKey": "k\\udc00"}',
    ],
)
def test_lone_surrogates_are_refused_at_submit(api, client, admin, tag, request_json) -> None:
    response = raw_submit(client, admin, '{"request": ' + request_json.replace("TAG", tag) + "}")
    assert_error(response, 400, "CLIENT_ERROR", SURROGATE_BODY, SUBMIT_ID)
    assert api.store.list(tag) == []  # nothing was stored


def test_a_surrogate_in_a_search_filter_is_refused(client, admin) -> None:
    body = '{"request": {"filters": {"dataset": "progress-exhaust\\ud83d"}}}'
    response = client.post(SEARCH, content=body.encode(), headers=headers(admin, CH_A))
    assert_error(response, 400, "CLIENT_ERROR", SURROGATE_BODY, SEARCH_ID)


def test_a_row_that_already_holds_a_surrogate_is_read_listed_searched_and_shown(
    api, client, admin, tag
) -> None:
    store = api.store
    rid = request_id("progress-exhaust", tag, "admin-a", CH_A, utcnow().date())
    with store.engine.begin() as conn:  # as stored before the check existed
        conn.execute(sa.insert(store.t).values(
            tag=f"{tag}:{CH_A}", request_id=rid, job_id="progress-exhaust", status=SUBMITTED,
            request_data={"batchId": BA1, "note": "smile \ud83d"}, requested_by="admin-a",
            requested_channel=CH_A, dt_job_submitted=utcnow(), iteration=0, processed_batches="[]",
        ))  # fmt: skip
    read = client.get(
        f"/dataset/v1/request/read/{tag}", params={"requestId": rid}, headers=headers(admin, CH_A)
    )
    assert read.status_code == 200 and read.json()["result"]["datasetConfig"]["note"] == "smile \ufffd"
    listed = client.get(f"/dataset/v1/request/list/{tag}", headers=headers(admin, CH_A))
    assert listed.status_code == 200 and listed.json()["result"]["count"] == 1
    search = client.post(SEARCH, json={"request": {"filters": {"dataset": "progress-exhaust"}, "limit": 1000}},
                         headers=headers(admin, CH_A))  # fmt: skip
    assert search.status_code == 200, search.text
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update({f"EXHAUST_{k.upper()}": str(v) for k, v in server_values_of(api).items()})
    status = subprocess.run([sys.executable, "-m", "exhaust", "status", rid], env=env, capture_output=True,
                            timeout=120, cwd=REPO)  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["datasetConfig"]["note"] == "smile \ufffd"


def server_values_of(api: LiveApi) -> dict[str, str]:
    s = api.settings
    return {"db_url": s.db_url, "data_dir": str(s.data_dir), "storage_url": s.storage_url,
            "signing_secret": s.signing_secret.get_secret_value(), "source": s.source}  # fmt: skip


# ---- defect 2: NUL in read / list ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "api_id", "message"),
    [
        ("/dataset/v1/request/read/a%00b?requestId=X", READ_ID, "tag must not contain a NUL character"),
        (
            "/dataset/v1/request/read/ab?requestId=X%00",
            READ_ID,
            "requestId must not contain control characters",
        ),
        ("/dataset/v1/request/list/a%00b", LIST_ID, "tag must not contain a NUL character"),
        ("/dataset/v1/request/list/a%0Ab", LIST_ID, "tag must not contain control characters"),
    ],
)
def test_nul_and_control_characters_in_read_and_list_are_400(client, admin, path, api_id, message) -> None:
    assert_error(client.get(path, headers=headers(admin, CH_A)), 400, "CLIENT_ERROR", message, api_id)


# ---- defect 3: search dates at the ends of the calendar ------------------------------------------------
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_search_by_the_first_or_last_day_of_the_calendar_finds_nothing(client, admin, day) -> None:
    response = client.post(
        SEARCH, json={"request": {"filters": {"requestedDate": day}}}, headers=headers(admin, CH_A)
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"count": 0, "jobs": []}


# ---- defect 4: any signature text ----------------------------------------------------------------------
def test_a_non_ascii_signature_is_403_without_a_traceback(api, client) -> None:
    response = client.get("/download/x?expires=7&signature=%C3%8A")
    assert_error(response, 403, "FORBIDDEN", "This download link is not valid.", "exhaust.download")
    time.sleep(0.2)
    assert "Traceback" not in api.log_text() and "TypeError" not in api.log_text()


# ---- defect 7: tags that could never be read back ------------------------------------------------------
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("a/b", "tag must not contain '/'"),
        ("   ", "tag is empty"),
        ("a\tb", "tag must not contain control characters"),
        ("a\u0085b", "tag must not contain control characters"),
    ],
)
def test_unreachable_tags_are_refused_at_submit(api, client, admin, bad, message) -> None:
    body = submit_body(bad, "progress-exhaust", {"batchId": BA1})
    response = client.post(SUBMIT, json=body, headers=headers(admin, CH_A))
    assert_error(response, 400, "CLIENT_ERROR", message, SUBMIT_ID)


# ---- defect 14: forged access-log lines ----------------------------------------------------------------
def test_a_decoded_newline_in_a_path_cannot_forge_a_log_line(api, client) -> None:
    marker = uuid.uuid4().hex
    client.get(f'/nowhere%0A127.0.0.1:1 "GET /admin" 200 {marker}%0D')
    time.sleep(0.3)
    lines = [line for line in api.log_text().splitlines() if marker in line]
    assert len(lines) == 1 and "\\n127.0.0.1:1" in lines[0] and lines[0].rstrip().endswith("ms")


# ---- defect 15: the stable link of a file --------------------------------------------------------------
def test_the_stable_file_link_checks_the_caller_and_redirects_to_a_fresh_download(
    api, client, admin, tag
) -> None:
    submitted = client.post(SUBMIT, json=submit_body(tag, "progress-exhaust", {"batchId": BA1}),
                            headers=headers(admin, CH_A)).json()["result"]  # fmt: skip
    rid = submitted["requestId"]
    storage_root = api.settings.storage_url
    key = f"progress-exhaust/{rid}/{BA1}_progress_20260101.zip"
    os.makedirs(os.path.dirname(os.path.join(storage_root, key)), exist_ok=True)
    with open(os.path.join(storage_root, key), "wb") as handle:
        handle.write(b"PK-test-bytes")
    with api.store.engine.begin() as conn:
        conn.execute(api.store.t.update().where(api.store.t.c.request_id == rid)
                     .values(status="SUCCESS", download_urls=[key]))  # fmt: skip
    link = f"/files/{rid}/1"
    assert_error(client.get(link), 401, "UNAUTHORIZED",
                 "A valid bearer token is required (Authorization: Bearer <token>).", "exhaust.api")  # fmt: skip
    other = api.token(CH_B, "ORG_ADMIN", user="admin-b")
    assert client.get(link, headers=headers(other)).status_code == 404  # another channel's: not even shown
    assert client.get(f"/files/{rid}/2", headers=headers(admin)).status_code == 404
    first = client.get(link, headers=headers(admin))
    assert first.status_code == 307 and first.headers["cache-control"] == "no-store"
    assert "/download/" in first.headers["location"] and "signature=" in first.headers["location"]
    followed = client.get(first.headers["location"])
    assert followed.status_code == 200 and followed.content == b"PK-test-bytes"


# ---- defect 17: tokens that expire ---------------------------------------------------------------------
def test_a_token_with_an_expiry_stops_working_then(api, client, tag) -> None:
    token = api.tokens.create(
        channel=CH_A, roles=["ORG_ADMIN"], user_id="admin-a", expires_in=timedelta(seconds=2)
    )
    ok = client.post(
        SUBMIT, json=submit_body(tag, "progress-exhaust", {"batchId": BA1}), headers=headers(token, CH_A)
    )
    assert ok.status_code == 200, ok.text
    time.sleep(2.5)
    late = client.post(
        SUBMIT, json=submit_body(tag, "progress-exhaust", {"batchId": BA1}), headers=headers(token, CH_A)
    )
    assert late.status_code == 401
    (info,) = [t for t in api.tokens.list() if token.split("_")[1] == t.token_id]
    assert info.expires_at is not None and info.expires_at < utcnow()


# ---- defect 11: the job store down -----------------------------------------------------------------------
def test_with_the_job_store_down_dataset_endpoints_answer_503_with_retry_after(pg_url, tmp_path) -> None:
    from tests.tcp_proxy import TcpProxy

    proxy = TcpProxy(("127.0.0.1", 5432)).up()
    values = server_values(tmp_path, pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
    server = start_server(values, tmp_path / "server.log")
    try:
        token = server.tokens.create(channel=CH_A, roles=["ORG_ADMIN"], user_id="admin-a")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/dataset/v1/request/list/t", headers=headers(token, CH_A)).status_code == 200
            proxy.down()
            time.sleep(2.5)  # pooled connections are pinged after 2 s idle
            calls = [
                http.get("/dataset/v1/request/list/t", headers=headers(token, CH_A)),
                http.get("/dataset/v1/request/read/t?requestId=X", headers=headers(token, CH_A)),
                http.post(
                    SUBMIT,
                    json=submit_body("t", "progress-exhaust", {"batchId": BA1}),
                    headers=headers("exh_other_token", CH_A),
                ),
                http.post(
                    SEARCH,
                    json={"request": {"filters": {"status": "SUBMITTED"}}},
                    headers=headers(token, CH_A),
                ),
            ]
            for response in calls:
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert response.json()["params"]["errmsg"].startswith("The service is briefly unavailable")
            proxy.up()
            time.sleep(0.5)
            again = http.get("/dataset/v1/request/list/t", headers=headers(token, CH_A))
            assert again.status_code == 200, again.text
        assert "Traceback" not in server.log_text()
    finally:
        server.stop()
        proxy.down()
