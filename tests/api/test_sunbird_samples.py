"""Sunbird's own sample requests, sent unchanged with `curl` to a live `exhaust serve`.

Seed 002's job request row (tag, dataset, batch, requester, channel) and the submit body of research
§2.4 (its JSONC comments removed, its password placeholder filled in), with the headers Sunbird's
portal sends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from exhaust.jobs.store import request_id, today
from tests.api.data import (
    SAMPLE_BATCH,
    SAMPLE_TAG,
    SEED_BATCH,
    SEED_TAG,
    SUNBIRD_CHANNEL,
    SUNBIRD_USER,
)
from tests.api.live import LiveApi

SEED_002_BODY = {
    "request": {
        "tag": SEED_TAG,
        "requestedBy": SUNBIRD_USER,
        "dataset": "progress-exhaust",
        "datasetConfig": {"batchId": SEED_BATCH},
    }
}
RESEARCH_2_4_BODY = """{
  "id": "ekstep.analytics.job.request.submit",
  "ver": "1.0",
  "ts": "2021-05-19T12:40:40+05:30",
  "params": { "msgid": "4f04da60-1e24-4d31-aa7b-1daf91c46341" },
  "request": {
    "tag": "do_2137002173427875841205_01370023185341644821",
    "requestedBy": "fca2925f-1eee-4654-9177-fece3fd6afc9",
    "dataset": "progress-exhaust",
    "datasetConfig": { "batchId": "01370023185341644821" },
    "encryptionKey": "Sample1Password",
    "output_format": "csv"
  }
}"""


def curl(api: LiveApi, token: str, *args: str) -> dict:
    command = [
        shutil.which("curl") or "curl",
        "-sS",
        "--fail-with-body",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        f"X-Channel-ID: {SUNBIRD_CHANNEL}",
        "-H",
        f"X-Authenticated-Userid: {SUNBIRD_USER}",
        "-H",
        "x-authenticated-user-token: portal-user-token",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def post_json_with_curl(api: LiveApi, token: str, url: str, body: Path) -> dict:
    """POST a JSON file with curl, as Sunbird's clients do."""
    return curl(
        api, token, "-X", "POST", url, "-H", "Content-Type: application/json", "--data-binary", f"@{body}"
    )


def test_seed_002_request_id_is_reproduced() -> None:
    # The seed's row: submitted 2022-09-27, request id 778A3669531143769B5E8C98D42E1CAD.
    found = request_id("progress-exhaust", SEED_TAG, SUNBIRD_USER, SUNBIRD_CHANNEL, date(2022, 9, 27))
    assert found == "778A3669531143769B5E8C98D42E1CAD"


@pytest.mark.parametrize(
    ("body", "tag", "batch_id"),
    [(json.dumps(SEED_002_BODY), SEED_TAG, SEED_BATCH), (RESEARCH_2_4_BODY, SAMPLE_TAG, SAMPLE_BATCH)],
    ids=["seed-002", "research-2.4"],
)
def test_sunbird_sample_requests_with_curl(
    api: LiveApi, tmp_path: Path, body: str, tag: str, batch_id: str
) -> None:
    token = api.token(SUNBIRD_CHANNEL, "ORG_ADMIN", user=SUNBIRD_USER)
    (tmp_path / "body.json").write_text(body)
    submitted = post_json_with_curl(
        api, token, f"{api.url}/api/dataset/v1/request/submit", tmp_path / "body.json"
    )
    assert submitted["id"] == "ekstep.analytics.dataset.request.submit"
    assert submitted["responseCode"] == "OK" and submitted["params"]["status"] == "successful"
    job = submitted["result"]
    expected = request_id(
        "progress-exhaust", tag, SUNBIRD_USER, SUNBIRD_CHANNEL, today(api.settings.timezone)
    )
    assert job["requestId"] == expected
    assert job["tag"] == f"{tag}:{SUNBIRD_CHANNEL}"
    assert job["requestedChannel"] == SUNBIRD_CHANNEL and job["requestedBy"] == SUNBIRD_USER
    assert job["datasetConfig"] == {"batchId": batch_id} and job["status"] == "SUBMITTED"
    assert "Sample1Password" not in json.dumps(submitted)

    read = curl(api, token, f"{api.url}/api/dataset/v1/request/read/{tag}?requestId={expected}")
    assert read["id"] == "ekstep.analytics.dataset.request.info" and read["result"]["requestId"] == expected
    listed = curl(api, token, f"{api.url}/api/dataset/v1/request/list/{tag}?limit=10")
    assert listed["id"] == "ekstep.analytics.dataset.request.list"
    assert [j["requestId"] for j in listed["result"]["jobs"]] == [expected]

    # The same request again the same day is the same row (Sunbird's upsert).
    again = post_json_with_curl(api, token, f"{api.url}/dataset/v1/request/submit", tmp_path / "body.json")
    assert again["result"]["requestId"] == expected


def test_mentor_of_the_seed_batch_may_request_it(api: LiveApi, tmp_path: Path) -> None:
    token = api.token(SUNBIRD_CHANNEL, "COURSE_MENTOR", user=SUNBIRD_USER)
    body = dict(SEED_002_BODY["request"], dataset="response-exhaust")
    (tmp_path / "body.json").write_text(json.dumps({"request": body}))
    submitted = post_json_with_curl(
        api, token, f"{api.url}/dataset/v1/request/submit", tmp_path / "body.json"
    )
    assert submitted["result"]["dataset"] == "response-exhaust"
