"""The worker on SQLite and PostgreSQL: outcomes, files, zips, resume, retries, progress, fairness."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from pathlib import Path

import pytest
import pyzipper

from exhaust.jobs.batches import NO_DATA, RETIRED
from exhaust.jobs.service import open_signer
from exhaust.jobs.store import FAILED, PROCESSING, SUBMITTED, SUCCESS, JobStore
from exhaust.jobs.views import job_response
from exhaust.jobs.worker import Worker
from exhaust.outputs.storage import Storage
from exhaust.settings import Settings
from tests.jobs.helpers import source_opener, stand_in_builder, wait_for


def make_worker(store, storage, settings, builder=None, **kw) -> Worker:
    return Worker(
        store, storage, settings, source=source_opener(Path(settings.source)), builder=builder, **kw
    )


def run(worker: Worker, **kw) -> int:
    return worker.run(once=True, **kw)


def submit(store: JobStore, data: dict, dataset: str = "progress-exhaust", **kw):
    kw.setdefault("tag", "do_c1")
    kw.setdefault("channel", "ch-1")
    return store.submit(dataset, data, **kw)[0]


def zip_text(storage: Storage, key: str, password: str | None = None) -> str:
    with zipfile.ZipFile(io.BytesIO(storage.read_bytes(key))) as zf:
        (name,) = zf.namelist()
        assert name == key.rsplit("/", 1)[1].replace(".zip", ".csv")
        return zf.read(name, pwd=password.encode() if password else None).decode()


def test_lifecycle_with_the_real_builder(store, storage, settings) -> None:
    """submit → worker → SUCCESS → a zip in storage that opens with the password and not without."""
    job = submit(store, {"batchId": "b1"}, encryption_key="s3cret")
    assert run(make_worker(store, storage, settings)) == 1
    done = store.get(job.request_id)
    assert done.status == SUCCESS, done.err_message
    assert (done.attempts, done.iteration) == (1, 0) and done.err_message == "" and done.execution_time >= 0
    day = time.strftime("%Y%m%d", time.gmtime(time.time() + 5.5 * 3600))  # Asia/Kolkata
    key = f"progress-exhaust/{job.request_id}/b1_progress_{day}.zip"
    assert done.download_urls == [key] and storage.list() == [key]
    assert done.processed_batches[0]["batchId"] == "b1" and done.processed_batches[0]["fileSize"] > 0
    text = zip_text(storage, key, "s3cret")
    assert text.splitlines()[0].startswith("Collection Id,Collection Name,Batch Id")
    assert len(text.splitlines()) == 4  # header + 3 learners
    with (
        zipfile.ZipFile(io.BytesIO(storage.read_bytes(key))) as zf,
        pytest.raises(RuntimeError, match="password"),
    ):
        zf.read(zf.namelist()[0])
    view = job_response(done, open_signer(settings, storage))
    assert view["status"] == SUCCESS and view["progress"] == 100 and view["attempts"] == 1
    assert view["downloadUrls"][0].startswith(f"/download/{key}?expires=")
    assert "encryption" not in str(view).lower() and "s3cret" not in str(view)


def test_without_key_the_zip_is_plain(store, storage, settings) -> None:
    job = submit(store, {"batchId": "b2"})
    run(make_worker(store, storage, settings, stand_in_builder()))
    done = store.get(job.request_id)
    assert done.status == SUCCESS
    assert "user-1" in zip_text(storage, done.download_urls[0])


def test_aes_by_setting(store, storage, settings: Settings) -> None:
    aes = settings.model_copy(update={"zip_encryption": "aes256"})
    job = submit(store, {"batchId": "b1"}, encryption_key="k3y")
    run(make_worker(store, storage, aes, stand_in_builder()))
    key = store.get(job.request_id).download_urls[0]
    with zipfile.ZipFile(io.BytesIO(storage.read_bytes(key))) as zf:
        assert zf.infolist()[0].compress_type == 99  # WinZip AES, which the standard library cannot read
    with pyzipper.AESZipFile(io.BytesIO(storage.read_bytes(key))) as zf:
        zf.setpassword(b"k3y")
        assert b"user-2" in zf.read(zf.namelist()[0])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"batchId": "nope"}, NO_DATA),
        ({"batchFilter": ["nope", "nada"]}, NO_DATA),
        ({"batchId": "br"}, RETIRED),
        ({"batchId": "bm"}, "no content hierarchy for collection do_missing"),
        ({"searchFilter": {"status": "Retired"}}, RETIRED),
        ({"searchFilter": {"channel": "nobody"}}, NO_DATA),
    ],
)
def test_failures_are_final_with_clear_messages(store, storage, settings, data, message) -> None:
    calls: list[str] = []
    job = submit(store, data)
    run(make_worker(store, storage, settings, stand_in_builder(calls)))
    done = store.get(job.request_id)
    assert (done.status, done.err_message, done.iteration, done.attempts) == (FAILED, message, 1, 1)
    assert done.dt_job_completed is not None and calls == [] and storage.list() == []


def test_unknown_batches_are_ignored(store, storage, settings) -> None:
    job = submit(store, {"batchFilter": ["nope", "b2", "b1"]})
    run(make_worker(store, storage, settings, stand_in_builder()))
    done = store.get(job.request_id)
    assert done.status == SUCCESS
    assert [p["batchId"] for p in done.processed_batches] == ["b2", "b1"]
    assert [u.split("/")[-1].split("_")[0] for u in done.download_urls] == ["b2", "b1"]


def test_a_batch_without_hierarchy_fails_the_request_but_keeps_the_others(store, storage, settings) -> None:
    job = submit(store, {"batchFilter": ["b1", "bm"]})
    run(make_worker(store, storage, settings, stand_in_builder()))
    done = store.get(job.request_id)
    assert done.status == FAILED
    assert done.err_message == "bm: no content hierarchy for collection do_missing"
    assert len(done.download_urls) == 1 and storage.exists(done.download_urls[0])


def test_search_filter_selects_batches_of_matching_collections(store, storage, settings) -> None:
    calls: list[str] = []
    job = submit(store, {"searchFilter": {"request": {"filters": {"identifier": ["do_c1", "do_old"]}}}})
    run(make_worker(store, storage, settings, stand_in_builder(calls)))
    assert store.get(job.request_id).status == SUCCESS
    assert calls == ["b1", "b2", "b3"]  # the retired collection's batch is refused


def test_multi_batch_request_resumes_after_finished_batches(store, storage, settings) -> None:
    calls: list[str] = []
    broken = {"b2"}
    builder = stand_in_builder(calls, fail=lambda b: OSError("disk hiccup") if b in broken else None)
    job = submit(store, {"batchFilter": ["b1", "b2", "b3"]})
    worker = make_worker(store, storage, settings, builder)
    worker.run_one()
    waiting = store.get(job.request_id)
    assert waiting.status == SUBMITTED and (waiting.iteration, waiting.attempts) == (1, 1)
    # Requesters get a plain reason; the Python wording stays in the log (issue 14, defect 13).
    assert waiting.err_message == "Attempt 1 of 3 failed (an unexpected error occurred); it will be retried."
    assert [p["batchId"] for p in waiting.processed_batches] == ["b1"]
    broken.clear()
    calls.clear()
    worker.run_one()
    done = store.get(job.request_id)
    assert done.status == SUCCESS and (done.attempts, done.iteration) == (2, 1) and done.err_message == ""
    assert calls == ["b2", "b3"]
    assert [u.split("/")[-1].split("_")[0] for u in done.download_urls] == ["b1", "b2", "b3"]
    assert all(storage.exists(u) for u in done.download_urls)


def test_transient_errors_are_retried_with_backoff_then_fail(store, storage, settings: Settings) -> None:
    slow = settings.model_copy(update={"retry_backoff_seconds": 60})
    builder = stand_in_builder(fail=lambda b: ConnectionError("source unreachable"))
    job = submit(store, {"batchId": "b1"})
    worker = make_worker(store, storage, slow, builder)
    worker.run_one()
    assert store.get(job.request_id).next_attempt_at is not None
    assert worker.run_one() is None  # backing off: not due yet
    fast = make_worker(store, storage, settings, builder)
    with store.engine.begin() as conn:
        conn.execute(store.t.update().values(next_attempt_at=None))
    fast.run_one()
    fast.run_one()
    done = store.get(job.request_id)
    assert done.status == FAILED and (done.attempts, done.iteration) == (3, 3)
    assert done.err_message == (
        "The report could not be built after 3 attempts: a service the report needs could not be reached."
    )
    assert fast.run_one() is None


def test_progress_and_phase_are_kept_while_running(store, storage, settings: Settings) -> None:
    quick = settings.model_copy(update={"lease_seconds": 0.3})
    seen: list = []

    def peek(batch_id: str) -> None:
        time.sleep(0.4)  # a few lease renewals
        seen.append(store.get(job.request_id))

    job = submit(store, {"batchFilter": ["b1", "b2"]})
    run(make_worker(store, storage, quick, stand_in_builder(during=peek)))
    first, second = seen
    assert first.status == PROCESSING and first.phase == "building b1" and 0 < first.progress < 50
    assert second.phase == "building b2" and 50 <= second.progress < 100
    assert store.get(job.request_id).status == SUCCESS and store.get(job.request_id).attempts == 1


def test_renewed_lease_keeps_a_slow_job(store, storage, settings: Settings) -> None:
    # The lease (2.5 s) is renewed every third of it; the job takes 6 s, more than twice one lease. (A
    # 1 s lease left too little slack on two loaded cores running the suite in two processes.)
    quick = settings.model_copy(update={"lease_seconds": 2.5})
    job = submit(store, {"batchId": "b1"})
    thread = threading.Thread(
        target=run, args=(make_worker(store, storage, quick, stand_in_builder(delay=6.0)),)
    )
    thread.start()
    wait_for(lambda: store.get(job.request_id).status == PROCESSING)
    rival = make_worker(store, storage, quick, stand_in_builder())
    stolen = [rival.run_one() for _ in range(25) if not time.sleep(0.2)]
    thread.join()
    assert stolen == [None] * 25
    assert store.get(job.request_id).status == SUCCESS and store.get(job.request_id).attempts == 1


def test_a_worker_that_lost_its_lease_writes_nothing(store, storage, settings) -> None:
    def takeover(batch_id: str) -> None:
        with store.engine.begin() as conn:
            conn.execute(store.t.update().values(lease_owner="someone-else"))

    job = submit(store, {"batchId": "b1"})
    run(make_worker(store, storage, settings, stand_in_builder(during=takeover)))
    row = store.get(job.request_id)
    assert row.status == PROCESSING and row.lease_owner == "someone-else" and row.download_urls == []


def test_channels_take_turns(store, storage, settings) -> None:
    for i in range(5):
        submit(store, {"batchId": "b1"}, tag=f"flood-{i}", channel="A")
    for i in range(2):
        submit(store, {"batchId": "b1"}, tag=f"b-{i}", channel="B")
    submit(store, {"batchId": "b1"}, tag="c-0", channel="C")
    worker = make_worker(store, storage, settings, stand_in_builder())
    order = []
    while (job := worker.run_one()) is not None:
        order.append(job.requested_channel)
    assert order == ["A", "B", "C", "A", "B", "A", "A", "A"]


def test_concurrent_threads_share_the_queue(store, storage, settings) -> None:
    calls: list[str] = []
    for i in range(6):
        submit(store, {"batchId": "b1"}, tag=f"t{i}")
    assert run(make_worker(store, storage, settings, stand_in_builder(calls, delay=0.05)), concurrency=3) == 6
    assert store.counts() == {SUCCESS: 6} and len(calls) == 6


def test_a_submitted_job_starts_within_two_seconds(store, storage, settings: Settings, backend: str) -> None:
    # On PostgreSQL the idle worker polls only every 30 s, so only NOTIFY can wake it in time.
    poll = 30 if backend == "postgres" else 0.5
    idle = settings.model_copy(update={"poll_seconds": poll})
    stop = threading.Event()
    worker = make_worker(store, storage, idle, stand_in_builder())
    thread = threading.Thread(target=worker.run, kwargs={"stop": stop})
    thread.start()
    time.sleep(0.5)  # the worker is idle, waiting
    try:
        job = submit(store, {"batchId": "b1"})
        started = time.monotonic()
        wait_for(lambda: store.get(job.request_id).status != SUBMITTED, timeout=5, step=0.01)
        assert time.monotonic() - started < 2
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
