"""TestResponseExhaustJob / V2 (research §8.4, §8.5) as our own tests, with `response-exhaust-sunbird-lern`.

V2 reads Sunbird's archived assessment data beside the live attempts (`EXHAUST_ASSESSMENT_ARCHIVE_URL`).
Difference on purpose: Question Options / Response stay valid JSON (Sunbird mangles the quotes).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.sunbird_parity.conftest import Deployment, deployment, file_date, rows_csv
from tests.sunbird_parity.fixture_folder import ARCHIVE, CHANNEL, COURSE, exhaust, fixture_folder

KEY = "response-key"
PROFILE = "response-exhaust-sunbird-lern"
QUESTIONS = ["do_213019475454476288155", "do_213019970118279168165", "do_213019972814823424168",
             "do_2130256513760624641171"]  # fmt: skip


@pytest.fixture(scope="module")
def folder(module_tmp: Path, sunbird_fixtures: Path) -> Path:
    return fixture_folder(
        sunbird_fixtures, "TestResponseExhaustJob.scala", "content-search.TestResponseExhaustJobV2.json",
        module_tmp / "src",
    )  # fmt: skip


@pytest.fixture(scope="module")
def ran(module_tmp: Path, folder: Path, sunbird_fixtures: Path) -> tuple[Deployment, str]:
    deploy = deployment(
        module_tmp / "deploy", folder, EXHAUST_ASSESSMENT_ARCHIVE_URL=str(sunbird_fixtures / ARCHIVE)
    )
    job, _ = deploy.store.submit(
        "response-exhaust", {"batchId": "batch-001", "profile": PROFILE}, tag="batch-001", channel=CHANNEL,
        requested_by="user-002", encryption_key=KEY,
    )  # fmt: skip
    deploy.run_worker()
    return deploy, job.request_id


def test_v2_with_the_assessment_archive(ran) -> None:
    deploy, request_id = ran
    job = deploy.job(request_id)
    assert (job.status, job.err_message, job.iteration) == ("SUCCESS", "", 0)
    key = f"response-exhaust/{request_id}/batch-001_response_{file_date()}.zip"
    assert job.download_urls == [key]
    rows = deploy.rows_of(key, KEY)
    assert len(rows) == 16
    # user-002: one live attempt without questions + 10 archived questions; user-003: one question-less row
    assert Counter(r["User UUID"] for r in rows) == {"user-001": 4, "user-002": 11, "user-003": 1}
    user_001 = [r for r in rows if r["User UUID"] == "user-001"]
    assert {r["Collection Id"] for r in user_001} == {COURSE}
    assert {r["Batch Id"] for r in user_001} == {"BatchId_batch-001"}
    assert {r["Attempt Id"] for r in user_001} == {"attempat-001"}
    assert {r["QuestionSet Id"] for r in user_001} == {"do_1128870328040161281204"}
    assert [r["Question Id"] for r in user_001] == QUESTIONS
    assert [r["Question Type"] for r in user_001] == ["mcq", "mcq", "mtf", "mcq"]
    assert [r["Question Duration"] for r in user_001] == ["1.0", "1.0", "2.0", "12.0"]
    assert [r["Question Score"] for r in user_001] == ["1.0", "1.0", "0.33", "10.0"]
    assert [r["Question Max Score"] for r in user_001] == ["1.0", "1.0", "1.0", "10.0"]
    options = json.loads(user_001[0]["Question Options"])
    assert [list(o) for o in options] == [["1"], ["2"], ["answer"]]
    assert json.loads(options[2]["answer"]) == {"correct": ["1"]}
    assert [list(o) for o in json.loads(user_001[0]["Question Response"])] == [["1"]]
    questionless = [r for r in rows if r["User UUID"] == "user-003"]
    assert [r["Question Id"] for r in questionless] == [""] and questionless[0]["Attempt Id"] == "attempt-001"


def test_v1_without_an_archive_from_the_command_line(folder: Path, tmp_path: Path) -> None:
    """V1's (commented-out) expectations, and V2 test 2 (an archive path that does not exist)."""
    out = tmp_path / "response.csv"
    done = exhaust(
        "report", "response-exhaust", "--source", str(folder), "--batch", "batch-001", "--channel", CHANNEL,
        "--output", str(out), env={"EXHAUST_ASSESSMENT_ARCHIVE_URL": str(tmp_path / "blob-data")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = rows_csv(out)
    assert Counter(r["User UUID"] for r in rows) == {"user-001": 4, "user-002": 1, "user-003": 1}
    user_001 = [r for r in rows if r["User UUID"] == "user-001"]
    assert [r["Question Id"] for r in user_001] == QUESTIONS
    assert [r["Question Duration"] for r in user_001] == ["1", "1", "2", "12"]
    assert [r["Question Score"] for r in user_001] == ["1", "1", "0.33", "10"]
