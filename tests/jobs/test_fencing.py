"""Fencing on the real PostgreSQL: a stalled worker (SIGSTOP) whose lease ran out publishes and writes nothing.

Issue 14, defect 10. The stalled worker is a real process; another worker takes the job over and
finishes it while the first is stopped. When the first wakes, the file the second published and the
job row it wrote must be exactly as the second left them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exhaust.jobs.service import open_store
from exhaust.jobs.store import PROCESSING, SUCCESS
from exhaust.jobs.worker import Worker
from exhaust.outputs.storage import open_storage
from tests.jobs.helpers import make_settings, make_source, source_opener, stand_in_builder, wait_for

REPO = Path(__file__).resolve().parents[2]
LEASE = 2.0


@pytest.fixture
def pg_setup(tmp_path: Path, pg_url: str, table_name: str):
    make_source(tmp_path / "source")
    settings = make_settings(tmp_path, pg_url, table_name, lease_seconds=LEASE)
    return settings, open_store(settings), open_storage(settings)


def spawn(pg_url: str, table: str, root: Path, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.jobs.worker_proc", "--db", pg_url, "--table", table,
               "--root", str(root), "--lease", str(LEASE), "--delay", "1.5"]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("w"))


def test_a_stalled_worker_never_publishes_or_writes_after_its_lease_is_gone(
    pg_setup, pg_url, tmp_path
) -> None:
    settings, store, storage = pg_setup
    job = store.submit("progress-exhaust", {"batchId": "b1"}, tag="stall", channel="ch-1")[0]
    log = tmp_path / "stalled.log"
    stalled = spawn(pg_url, settings.job_table, tmp_path, log)
    try:
        wait_for(lambda: store.get(job.request_id).phase == "building b1", timeout=60)
        os.kill(stalled.pid, signal.SIGSTOP)  # mid-build, holding the lease
        owner = store.get(job.request_id).lease_owner
        time.sleep(LEASE + 0.5)  # its lease runs out while it is stopped

        rival = Worker(store, storage, settings, source=source_opener(tmp_path / "source"),
                       builder=stand_in_builder())  # fmt: skip
        finished = wait_for(rival.run_one, timeout=10)
        assert finished.status == SUCCESS and finished.attempts == 2 and finished.lease_owner is None
        (key,) = finished.download_urls
        published = os.stat(storage.path(key))
        row_before = store.get(job.request_id)

        os.kill(stalled.pid, signal.SIGCONT)  # wakes in the middle of its build
        wait_for(lambda: "abandoned" in log.read_text(), timeout=30)
        time.sleep(1.0)  # time for any stray write or upload it might still make
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
        stalled.terminate()
        stalled.wait(timeout=30)
    after = os.stat(storage.path(key))
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        published.st_ino, published.st_mtime_ns, published.st_size,
    )  # fmt: skip
    assert storage.list() == [key]
    row_after = store.get(job.request_id)
    assert row_after == row_before  # every column as the rival left it
    assert owner != row_after.lease_owner and "Traceback" not in log.read_text()


def test_a_stalled_worker_alone_writes_nothing_when_it_wakes(pg_setup, pg_url, tmp_path) -> None:
    """Nobody took the job over: the lease ran out all the same, so the woken worker must not go on."""
    settings, store, storage = pg_setup
    job = store.submit("progress-exhaust", {"batchId": "b1"}, tag="alone", channel="ch-1")[0]
    log = tmp_path / "alone.log"
    stalled = spawn(pg_url, settings.job_table, tmp_path, log)
    try:
        wait_for(lambda: store.get(job.request_id).phase == "building b1", timeout=60)
        os.kill(stalled.pid, signal.SIGSTOP)
        row_before = store.get(job.request_id)
        time.sleep(LEASE + 0.5)
        os.kill(stalled.pid, signal.SIGCONT)
        wait_for(lambda: "abandoned" in log.read_text(), timeout=30)
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
        stalled.terminate()
        stalled.wait(timeout=30)
    assert storage.list() == []
    row_after = store.get(job.request_id)
    if row_after.attempts == row_before.attempts:  # not claimed again: the stale attempt wrote nothing
        assert row_after.status == PROCESSING and row_after.progress == row_before.progress
        assert row_after.lease_expires_at == row_before.lease_expires_at  # no renewal after it ran out
    else:  # the woken process claimed the expired job afresh: a new attempt, not the stale one going on
        assert row_after.attempts == row_before.attempts + 1
        assert row_after.lease_expires_at != row_before.lease_expires_at
    assert row_after.download_urls == [] and row_after.processed_batches == []
