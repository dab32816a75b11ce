"""On the real PostgreSQL: workers in separate processes racing for jobs, and a worker killed mid-job."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from exhaust.jobs.service import open_store
from exhaust.jobs.store import PROCESSING, SUCCESS
from exhaust.outputs.storage import open_storage
from tests.jobs.helpers import make_settings, make_source, source_opener, stand_in_builder, wait_for

REPO = Path(__file__).resolve().parents[2]


def spawn(pg_url: str, table: str, root: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "tests.jobs.worker_proc",
        "--db",
        pg_url,
        "--table",
        table,
        "--root",
        str(root),
    ]
    return subprocess.Popen([*command, *extra], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def pg_setup(tmp_path: Path, pg_url: str, table_name: str):
    make_source(tmp_path / "source")
    settings = make_settings(tmp_path, pg_url, table_name, lease_seconds=1.5)
    return settings, open_store(settings), open_storage(settings)


def test_two_worker_processes_never_run_the_same_job(pg_setup, pg_url: str, tmp_path: Path) -> None:
    settings, store, _ = pg_setup
    jobs = [store.submit("progress-exhaust", {"batchId": "b1"}, tag=f"race-{i}", channel=f"ch-{i % 3}")[0]
            for i in range(30)]  # fmt: skip
    calls = tmp_path / "calls.txt"
    args = ("--once", "--concurrency", "2", "--delay", "0.02", "--calls", str(calls), "--lease", "30")
    procs = [spawn(pg_url, settings.job_table, tmp_path, *args) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    lines = calls.read_text().splitlines()
    assert len(lines) == 30  # one build per job ...
    assert len({line.split()[1] for line in lines}) == 2  # ... shared by both processes
    rows = [store.get(job.request_id) for job in jobs]
    assert all(row.status == SUCCESS and row.attempts == 1 for row in rows)  # claimed exactly once each


def test_threads_claiming_at_once_get_distinct_jobs(pg_setup) -> None:
    _, store, _ = pg_setup
    for i in range(40):
        store.submit("progress-exhaust", {"batchId": "b1"}, tag=f"t-{i}", channel="ch")
    claimed: list[str] = []
    barrier = threading.Barrier(8)

    def claim_all(n: int) -> None:
        barrier.wait()
        while (job := store.claim(f"w{n}", lease_seconds=30, max_attempts=3)) is not None:
            claimed.append(job.request_id)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 40 and len(set(claimed)) == 40


def test_killed_worker_job_is_finished_by_another_without_partial_files(
    pg_setup, pg_url: str, tmp_path
) -> None:
    settings, store, storage = pg_setup
    job = store.submit("progress-exhaust", {"batchFilter": ["b1", "b2"]}, tag="crash", channel="ch-1",
                       encryption_key="pw")[0]  # fmt: skip
    bad: list[str] = []
    watching = threading.Event()

    def watch() -> None:  # every object ever listed must be a complete, readable zip
        while not watching.is_set():
            for key in storage.list():
                try:
                    with zipfile.ZipFile(io.BytesIO(storage.read_bytes(key))) as zf:
                        zf.read(zf.namelist()[0], pwd=b"pw")
                except Exception as exc:
                    bad.append(f"{key}: {exc}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        calls = tmp_path / "calls.txt"
        proc = spawn(pg_url, settings.job_table, tmp_path, "--slow-batch", "b2", "--delay", "60",
                     "--calls", str(calls), "--lease", "1.5")  # fmt: skip
        wait_for(lambda: store.get(job.request_id).phase == "building b2", timeout=30)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        killed = store.get(job.request_id)
        assert killed.status == PROCESSING and killed.attempts == 1
        assert [p["batchId"] for p in killed.processed_batches] == ["b1"]
        assert storage.list() == [killed.processed_batches[0]["filePath"]]  # b1 only, nothing half-written

        rebuilt: list[str] = []
        from exhaust.jobs.worker import Worker

        other = Worker(store, storage, settings, source=source_opener(tmp_path / "source"),
                       builder=stand_in_builder(rebuilt))  # fmt: skip
        assert other.run_one() is None  # the dead worker's lease has not run out yet
        finished = wait_for(other.run_one, timeout=10)
    finally:
        watching.set()
        watcher.join()
    assert finished.status == SUCCESS and (finished.attempts, finished.iteration) == (2, 1)
    assert rebuilt == ["b2"]  # resumed after the batch the dead worker finished
    assert [k.split("/")[-1].split("_")[0] for k in finished.download_urls] == ["b1", "b2"]
    assert storage.list() == sorted(finished.download_urls)
    assert bad == []
    assert not list((Path(settings.storage_url) / ".incoming").glob("*"))
