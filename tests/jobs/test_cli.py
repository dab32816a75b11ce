"""The CLI contract, run as separate processes with settings from EXHAUST_* variables."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.jobs.helpers import make_source

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path: Path, db_url: str, table_name: str):
    make_source(tmp_path / "source")
    env = {
        **os.environ,
        "EXHAUST_DATA_DIR": str(tmp_path / "data"),
        "EXHAUST_SOURCE": str(tmp_path / "source"),
        "EXHAUST_DB_URL": db_url,
        "EXHAUST_JOB_TABLE": table_name,
        "EXHAUST_STORAGE_URL": str(tmp_path / "storage"),
        "EXHAUST_TIMEZONE": "Asia/Kolkata",
    }

    def run(*args: str, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "exhaust.jobs.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
            input=stdin, timeout=120,
        )  # fmt: skip
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    return run


def test_submit_worker_status_list(cli, tmp_path: Path) -> None:
    rid = cli("submit", "progress-exhaust", "--batch", "b1", "--channel", "ch-1", "--requested-by", "u1",
              "--tag", "do_c1_b1", "--encryption-key", "pa55").stdout  # fmt: skip
    assert len(rid.strip()) == 32 and rid == rid.strip() + "\n"
    again = cli("submit", "progress-exhaust", "--batch", "b1", "--channel", "ch-1", "--requested-by", "u1",
                "--tag", "do_c1_b1")  # fmt: skip
    assert again.stdout == rid and "already requested today" in again.stderr
    multi = cli("submit", "progress-exhaust", "--batch-filter", "b2,b3", "--channel", "ch-1",
                "--tag", "do_c1_b1", "--encryption-key", "-", stdin="pa55\n").stdout.strip()  # fmt: skip

    queued = json.loads(cli("status", rid.strip()).stdout)
    assert queued["status"] == "SUBMITTED" and queued["downloadUrls"] == [] and queued["progress"] == 0

    cli("worker", "--once", "--concurrency", "2")
    status = json.loads(cli("status", rid.strip()).stdout)
    assert {"requestId", "tag", "dataset", "status", "attempts", "downloadUrls", "statusMessage", "progress",
            "jobStats"} <= set(status)  # fmt: skip
    assert status["status"] == "SUCCESS" and status["attempts"] == 1 and status["tag"] == "do_c1_b1:ch-1"
    assert set(status["jobStats"]) == {"dtJobSubmitted", "dtJobCompleted", "executionTime"}
    (url,) = status["downloadUrls"]
    assert url.startswith(f"/download/progress-exhaust/{rid.strip()}/b1_progress_") and "signature=" in url
    key = url.split("?")[0].removeprefix("/download/")
    data = (tmp_path / "storage" / key).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read(zf.namelist()[0], pwd=b"pa55").startswith(b"Collection Id")

    listed = json.loads(cli("list", "--tag", "do_c1_b1").stdout)
    assert {job["requestId"] for job in listed} == {rid.strip(), multi}
    assert all(job["status"] == "SUCCESS" for job in listed)
    assert "pa55" not in json.dumps(listed)
    assert len(next(j for j in listed if j["requestId"] == multi)["downloadUrls"]) == 2


def test_cli_errors_are_one_clear_line(cli) -> None:
    done = cli("submit", "userinfo-exhaust", "--batch", "b1", ok=False)
    assert (
        done.returncode != 0 and "needs an encryption key" in done.stderr and "Traceback" not in done.stderr
    )
    both = cli("submit", "progress-exhaust", "--batch", "b1", "--batch-filter", "b2", ok=False)
    assert "exactly one of --batch, --batch-filter or --search-filter" in both.stderr
    missing = cli("status", "0" * 32, ok=False)
    assert missing.returncode != 0 and "no request with id" in missing.stderr


def test_submit_checks_batches_and_channel_as_the_api_does(cli) -> None:
    # Like the API's submit (400 / 403), the CLI refuses unknown batches and another channel's batches.
    unknown = cli("submit", "progress-exhaust", "--batch-filter", "b2,nope", "--channel", "ch-1", ok=False)
    assert unknown.returncode == 1 and unknown.stderr == "batch nope not found\n"
    other = cli("submit", "progress-exhaust", "--batch", "b4", "--channel", "ch-1", ok=False)
    assert other.returncode == 1 and other.stderr == "batch b4 does not belong to channel ch-1\n"
    assert cli("list", "--tag", "b4").stdout.strip() == "[]"  # nothing was queued
    # Sunbird's System channel acts for every channel; the worker checks batches again when it runs.
    assert len(cli("submit", "progress-exhaust", "--batch", "b4").stdout.strip()) == 32


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("a/b", "tag must not contain '/'"),
        ("   ", "tag is empty"),
        ("line\nbreak", "tag must not contain control characters"),
        ("bell\x07", "tag must not contain control characters"),
    ],
)
def test_submit_refuses_unusable_tags(cli, tag: str, message: str) -> None:
    done = cli("submit", "progress-exhaust", "--batch", "b1", "--channel", "ch-1", "--tag", tag, ok=False)
    assert done.returncode == 1 and done.stderr == message + "\n"


def test_unreachable_job_store_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXHAUST_DATA_DIR": str(tmp_path),
        "EXHAUST_DB_URL": "postgresql://u:hunter2@127.0.0.1:1/x",
    }
    done = subprocess.run([sys.executable, "-m", "exhaust.jobs.cli", "worker", "--once"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "the job store postgresql+psycopg://u:***@127.0.0.1:1/x cannot be reached" in done.stderr
    assert "hunter2" not in done.stderr
