"""TestUserInfoExhaustJob (research §8.3) as our own tests, with `userinfo-exhaust-sunbird-lern`.

Differences on purpose (docs/sunbird-compatibility.md): bad request data and a missing encryption key are
refused when submitted (tests 3, 4, 6, 7), the batch limit is 20, not the test config's 4 (test 5), and the
refusal for a collection without consent drops Sunbird's leading "Invalid request." (SPEC §3.2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exhaust.errors import BadInput
from tests.sunbird_parity.conftest import Deployment, deployment, file_date, rows_csv
from tests.sunbird_parity.fixture_folder import CHANNEL, COURSE, exhaust, fixture_folder

KEY = "userinfo-key"
PROFILE = "userinfo-exhaust-sunbird-lern"
NOT_APPLICABLE = (
    "User info exhaust is not applicable for collections which don't request for user consent to share data"
)


@pytest.fixture(scope="module")
def folder(module_tmp: Path, sunbird_fixtures: Path) -> Path:
    return fixture_folder(
        sunbird_fixtures,
        "TestUserInfoExhaustJob.scala",
        "content-search.BaseReportSpec.json",
        module_tmp / "src",
    )


@pytest.fixture(scope="module")
def ran(module_tmp: Path, folder: Path) -> tuple[Deployment, dict[str, str]]:
    deploy = deployment(module_tmp / "deploy", folder)
    ids = {}
    for tag, batch in (("batch-001", "batch-001"), ("batch-006", "batch-006"), ("no-consent", "batch-002")):
        job, _ = deploy.store.submit(
            "userinfo-exhaust", {"batchId": batch, "profile": PROFILE}, tag=tag, channel=CHANNEL,
            requested_by="user-002", encryption_key=KEY,
        )  # fmt: skip
        ids[tag] = job.request_id
    deploy.run_worker()
    return deploy, ids


def assert_batch_001(rows: list[dict]) -> None:
    assert len(rows) == 4
    assert {r["Collection Id"] for r in rows} == {COURSE}
    assert {r["Collection Name"] for r in rows} == {"24 aug course"}
    assert {(r["Batch Id"], r["Batch Name"]) for r in rows} == {("BatchId_batch-001", "Basic Java")}
    assert [r["User UUID"] for r in rows] == ["user-001", "user-002", "user-003", "user-004"]
    assert sorted(r["State"] for r in rows) == sorted(["Karnataka", "Karnataka", "Andhra Pradesh", "Delhi"])
    assert [r["District"] for r in rows] == ["bengaluru", "bengaluru", "bengaluru", "babarpur"]
    assert "Pre-prod Custodian Organization" in [r["Org Name"] for r in rows]
    user_001 = rows[0]
    assert [user_001[h] for h in ("State", "District", "Org Name", "Block", "Cluster", "User Type",
                                  "User Sub Type", "School Id", "School Name")] == [
        "Karnataka", "bengaluru", "Root Org2", "BLOCK1", "CLUSTER1", "administrator", "deo", "3183211",
        "DPS, MATHURA",
    ]  # fmt: skip
    # Derived from the code against the data (research §8.3)
    assert [r["User Name"] for r in rows] == ["Manju Kapoor", "Mahesh", "Sowmya", "Utkarsha"]
    assert [r["Email ID"] for r in rows] == ["", "mahesh@ilimi.in", "sowmya@ilimi.in", "utkarsha@ilimi.in"]
    assert {r["Consent Provided"] for r in rows} == {"true"}
    assert [r["Consent Provided Date"] for r in rows] == ["19/09/2019", "", "19/09/2019", ""]
    assert list(rows[0]) == [
        "Collection Id", "Collection Name", "Batch Id", "Batch Name", "User UUID", "User Name", "User Type",
        "User Sub Type", "State", "District", "Block", "Cluster", "School Id", "School Name", "Org Name",
        "Email ID", "Mobile Number", "Consent Provided", "Consent Provided Date",
    ]  # fmt: skip


def test_batch_001(ran) -> None:
    deploy, ids = ran
    job = deploy.job(ids["batch-001"])
    assert (job.status, job.err_message, job.iteration) == ("SUCCESS", "", 0)
    key = f"userinfo-exhaust/{job.request_id}/batch-001_userinfo_{file_date()}.zip"
    assert job.download_urls == [key]
    with pytest.raises(RuntimeError):  # password protected
        deploy.rows_of(key, None)
    assert_batch_001(deploy.rows_of(key, KEY))


def test_batch_006_lists_only_learners_who_consented(ran) -> None:
    deploy, ids = ran
    job = deploy.job(ids["batch-006"])
    assert (job.status, job.err_message, job.iteration) == ("SUCCESS", "", 0)
    key = f"userinfo-exhaust/{job.request_id}/batch-006_userinfo_{file_date()}.zip"
    assert job.download_urls == [key]
    rows = deploy.rows_of(key, KEY)
    assert [r["User UUID"] for r in rows] == ["user-015", "user-016"]  # user-017 REVOKED
    user_015 = rows[0]
    assert [user_015[h] for h in ("State", "District", "Org Name", "Block", "Cluster", "User Type",
                                  "User Sub Type", "School Id", "School Name")] == [
        "Karnataka", "bengaluru", "Root Org2", "BLOCK1", "CLUSTER1", "administrator", "deo", "3183211",
        "DPS, MATHURA",
    ]  # fmt: skip


def test_a_collection_without_user_consent_is_refused(ran) -> None:
    """Test 8: batch-002's collection has no `userConsent` in content search, and no hierarchy row."""
    deploy, ids = ran
    job = deploy.job(ids["no-consent"])
    assert (job.status, job.download_urls, job.iteration) == ("FAILED", [], 1)
    assert job.err_message == NOT_APPLICABLE  # Sunbird: "Invalid request. " + this sentence


def test_requests_sunbird_fails_later_are_refused_when_submitted(ran) -> None:
    """Tests 3, 4, 6, 7: Sunbird marks these FAILED the next morning; exhaust refuses them at once."""
    deploy, _ = ran
    for data, key, message in (
        ({"batchId": "batch-001"}, None, "needs an encryption key"),
        ({"batchId": "", "searchFilter": {}}, KEY, "exactly one of batchId, batchFilter or searchFilter"),
        ({}, KEY, "exactly one of batchId, batchFilter or searchFilter"),
    ):
        with pytest.raises(BadInput, match=message):
            deploy.store.submit("userinfo-exhaust", data, tag="refused", channel=CHANNEL, encryption_key=key)


def test_standalone_report_from_the_command_line(folder: Path, tmp_path: Path) -> None:
    """Test 10 (standalone): the same four rows from `exhaust report`, in a protected zip."""
    import zipfile

    out = tmp_path / f"batch-001_userinfo_{file_date()}.zip"
    done = exhaust(
        "report", "userinfo-exhaust", "--source", str(folder), "--batch", "batch-001", "--profile", PROFILE,
        "--channel", CHANNEL, "--password", KEY, "--output", str(out),
        env={"EXHAUST_SUNBIRD_ENCRYPTION_KEY": "SunBird"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        (name,) = archive.namelist()
        (tmp_path / name).write_bytes(archive.read(name, pwd=KEY.encode()))
    assert_batch_001(rows_csv(tmp_path / name))
