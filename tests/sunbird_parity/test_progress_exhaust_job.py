"""TestProgressExhaustJob (research §8.1) as our own tests: the CLI and the worker on the fixture folder.

Differences on purpose (docs/sunbird-compatibility.md): Progress of a collection without leaves is 0 (Sunbird
prints 100), there is no per-channel file-size throttling (tests 2, 3, 5), and a FAILED multi-batch request
keeps the links of the batches it finished (Sunbird shows `{}`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sunbird_parity.conftest import Deployment, deployment, file_date, rows_csv
from tests.sunbird_parity.fixture_folder import CHANNEL, COURSE, exhaust, fixture_folder

KEY = "test12"
PROFILE = "progress-exhaust-sunbird-lern"
REQUESTS = {
    "all-correct": {"batchId": "batch-001"},
    "duplicate-batches": {"batchFilter": ["batch-01", "batch-001", "batch-001"]},
    "all-invalid": {"batchFilter": ["batch-01", "batch-02"]},
    "with-retired": {"batchFilter": ["batch-004", "batch-005"]},
    "only-retired": {"batchId": "batch-005"},
    "missing-hierarchy": {"batchFilter": ["batch-003", "batch-004"]},
}


@pytest.fixture(scope="module")
def folder(module_tmp: Path, sunbird_fixtures: Path) -> Path:
    return fixture_folder(
        sunbird_fixtures,
        "TestProgressExhaustJob.scala",
        "content-search.BaseReportSpec.json",
        module_tmp / "src",
    )


@pytest.fixture(scope="module")
def ran(module_tmp: Path, folder: Path) -> tuple[Deployment, dict[str, str]]:
    """Every request of the suite submitted, then one `exhaust worker --once`."""
    deploy = deployment(module_tmp / "deploy", folder)
    ids = {}
    for tag, data in REQUESTS.items():
        job, _ = deploy.store.submit(
            "progress-exhaust", {**data, "profile": PROFILE}, tag=tag, channel=CHANNEL,
            requested_by="user-002", encryption_key=KEY,
        )  # fmt: skip
        ids[tag] = job.request_id
    deploy.run_worker()
    return deploy, ids


def assert_batch_001(rows: list[dict]) -> None:
    """Test 1's assertions on batch-001, and the expectations derived from the code (research §8.1)."""
    assert len(rows) == 4
    assert {r["Collection Id"] for r in rows} == {COURSE}
    assert {r["Collection Name"] for r in rows} == {"24 aug course"}
    assert {r["Batch Id"] for r in rows} == {"BatchId_batch-001"}
    assert {r["Batch Name"] for r in rows} == {"Basic Java"}
    assert [r["User UUID"] for r in rows] == ["user-001", "user-002", "user-003", "user-004"]
    assert [r["State"] for r in rows] == ["Karnataka", "Andhra Pradesh", "Karnataka", "Delhi"]
    assert [r["District"] for r in rows] == ["bengaluru", "bengaluru", "bengaluru", "babarpur"]
    assert "15/11/2019" in [r["Enrolment Date"] for r in rows]
    assert "" in [r["Completion Date"] for r in rows]
    assert "CLUSTER1" in [r["Cluster Name"] for r in rows]
    assert "administrator" in [r["User Type"] for r in rows] and "deo" in [r["User Sub Type"] for r in rows]
    assert {r["Total Score"] for r in rows} == {""}
    assert not [h for h in rows[0] if h.endswith(" - Score")]  # the only child is a TextBookUnit
    user_001, _, user_003, _ = rows
    assert (user_001["Org Name"], user_001["School Id"], user_001["School Name"]) == (
        "Root Org2", "3183211", "DPS, MATHURA",
    )  # fmt: skip
    assert (user_001["Block Name"], user_001["Declared Board"]) == ("BLOCK1", "IGOT-Health")
    assert user_003["Cluster Name"] == "anagha"
    # "latest value from date columns" (test 9)
    assert [r["Enrolment Date"] for r in rows[:3]] == ["16/11/2019", "15/11/2019", "15/11/2019"]
    # Deliberate difference: no leaves in the tree gives 0 here, 100 in Sunbird (SPEC §3.1).
    assert {r["Progress"] for r in rows} == {"0"}


def test_generate_the_report_with_all_the_correct_data(ran) -> None:
    deploy, ids = ran
    job = deploy.job(ids["all-correct"])
    assert (job.status, job.err_message, job.iteration) == ("SUCCESS", "", 0)
    key = f"progress-exhaust/{job.request_id}/batch-001_progress_{file_date()}.zip"
    assert job.download_urls == [key]
    assert job.dt_job_submitted is not None
    assert_batch_001(deploy.rows_of(key, KEY))


def test_validating_and_filtering_duplicate_batches(ran) -> None:
    deploy, ids = ran
    job = deploy.job(ids["duplicate-batches"])
    assert (job.status, job.err_message, job.iteration) == ("SUCCESS", "", 0)
    assert job.download_urls == [f"progress-exhaust/{job.request_id}/batch-001_progress_{file_date()}.zip"]
    assert_batch_001(deploy.rows_of(job.download_urls[0], KEY))


def test_mark_request_as_failed_if_all_batches_are_invalid(ran) -> None:
    deploy, ids = ran
    job = deploy.job(ids["all-invalid"])
    assert (job.status, job.err_message, job.download_urls, job.iteration) == (
        "FAILED",
        "No data found",
        [],
        1,
    )
    assert job.request_data == {**REQUESTS["all-invalid"], "profile": PROFILE}


def test_a_retired_collection_is_dropped_from_a_multi_batch_request(ran) -> None:
    """ "batches limit by channel", request -3: batch-005's collection is Retired in content search and has
    no hierarchy row; it is dropped and batch-004 is delivered."""
    deploy, ids = ran
    job = deploy.job(ids["with-retired"])
    assert (job.status, job.err_message, job.iteration) == ("SUCCESS", "", 0)
    assert job.download_urls == [f"progress-exhaust/{job.request_id}/batch-004_progress_{file_date()}.zip"]
    assert [b["batchId"] for b in job.processed_batches] == ["batch-004"]


def test_a_request_for_a_retired_collection_is_refused(ran) -> None:
    """Sunbird's commented-out "retired collection" test: its message, not "no content hierarchy"."""
    deploy, ids = ran
    job = deploy.job(ids["only-retired"])
    assert (job.status, job.err_message, job.iteration) == (
        "FAILED", "The request is made for retired collection", 1,
    )  # fmt: skip


def test_a_failed_multi_batch_request_keeps_its_finished_batches(ran) -> None:
    """ "duplicate requests": batch-003's course has no hierarchy, batch-004 completes, the request FAILS."""
    deploy, ids = ran
    job = deploy.job(ids["missing-hierarchy"])
    assert job.status == "FAILED" and job.iteration == 1
    assert job.err_message == "batch-003: no content hierarchy for collection do_1131975645014835201326"
    key = f"progress-exhaust/{job.request_id}/batch-004_progress_{file_date()}.zip"
    assert [(b["batchId"], b["filePath"]) for b in job.processed_batches] == [("batch-004", key)]
    assert job.download_urls == [key]  # decision: the finished file stays reachable (Sunbird shows {})
    assert len(deploy.rows_of(key, KEY)) > 0


def test_standalone_report_from_the_command_line(folder: Path, tmp_path: Path) -> None:
    """ "validate the report path" / standalone mode: `exhaust report` on the same folder."""
    out = tmp_path / "progress-exhaust" / f"batch-001_progress_{file_date()}.csv"
    done = exhaust(
        "report", "progress-exhaust", "--source", str(folder), "--batch", "batch-001", "--profile", PROFILE,
        "--output", str(out), env={},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "".join(done.stderr.split()) == "".join(
        f"4 rows written to {out}".split()
    )  # the terminal may wrap
    assert_batch_001(rows_csv(out))
