"""Issue 14's worker faults: the error taxonomy at work, work folders, unwritable storage, plain reasons.

Each test names the defect it pins down; all run on SQLite (the job store's behaviour is the same on
PostgreSQL, which test_worker.py covers), except where a test says otherwise.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from exhaust.engine.hierarchy import MAX_DEPTH
from exhaust.jobs import workdir
from exhaust.jobs.store import FAILED, PROCESSING, SUBMITTED, SUCCESS
from exhaust.jobs.worker import Worker
from exhaust.settings import Settings
from exhaust.sources.open import open_source
from tests.builders import batch, enrolment, hierarchy_row, write_source
from tests.jobs.helpers import source_opener, stand_in_builder

REDIS_DB7 = "redis://127.0.0.1:6379/7"


@pytest.fixture
def backend() -> str:
    return "sqlite"


def make_worker(store, storage, settings, builder=None, source=None) -> Worker:
    return Worker(
        store, storage, settings, source=source or source_opener(Path(settings.source)), builder=builder
    )


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


# ---- defect 8: a transient source outage is retried, not failed for good ----------------------------
def test_redis_user_cache_down_is_retried_and_the_retry_succeeds(store, storage, settings: Settings) -> None:
    down = settings.model_copy(update={"users_redis_url": f"redis://127.0.0.1:{closed_port()}/7"})
    job = store.submit("userinfo-exhaust", {"batchId": "b1"}, tag="t", channel="ch-1", encryption_key="k")[0]
    folder = Path(settings.source)
    make_worker(store, storage, down, source=lambda: open_source(str(folder), down)).run_one()
    waiting = store.get(job.request_id)
    assert waiting.status == SUBMITTED and waiting.iteration == 1  # not FAILED on attempt 1
    assert (
        waiting.err_message
        == "Attempt 1 of 3 failed (the platform data could not be read); it will be retried."
    )
    assert "127.0.0.1" not in waiting.err_message

    client = redis.Redis.from_url(REDIS_DB7, decode_responses=True)
    keys = [f"user:user-{i}" for i in range(3)]
    try:
        for key in keys:
            client.hset(key, mapping={"firstname": key[5:].title(), "lastname": "Test"})
        up = settings.model_copy(update={"users_redis_url": REDIS_DB7})
        with store.engine.begin() as conn:
            conn.execute(store.t.update().values(next_attempt_at=None))
        make_worker(store, storage, up, source=lambda: open_source(str(folder), up)).run_one()
    finally:
        client.delete(*keys)
    done = store.get(job.request_id)
    assert done.status == SUCCESS and done.iteration == 2, done.err_message


def test_terminal_errors_fail_at_once_and_unknown_faults_are_retried(store, storage, settings) -> None:
    from exhaust.errors import BadInput, StoreUnavailable

    bad = store.submit("progress-exhaust", {"batchId": "b1"}, tag="bad", channel="ch-1")[0]
    make_worker(
        store, storage, settings, stand_in_builder(fail=lambda b: BadInput("column x is unusable"))
    ).run_one()
    assert store.get(bad.request_id).status == FAILED and store.get(bad.request_id).iteration == 1
    assert store.get(bad.request_id).err_message == "column x is unusable"

    flaky = store.submit("progress-exhaust", {"batchId": "b2"}, tag="flaky", channel="ch-1")[0]
    fail = stand_in_builder(fail=lambda b: StoreUnavailable("postgres at 10.1.2.3:5432 refused"))
    make_worker(store, storage, settings, fail).run_one()
    row = store.get(flaky.request_id)
    assert row.status == SUBMITTED and row.iteration == 1
    assert (
        row.err_message == "Attempt 1 of 3 failed (the job store could not be reached); it will be retried."
    )


# ---- defect 5: a hierarchy nested 500 deep ------------------------------------------------------------
def deep_course(tmp: Path, depth: int) -> Path:
    """A course whose tree nests `depth` units (written as JSON text by hand: json.dumps would recurse)."""
    text = '{"identifier": "do_leaf", "mimeType": "application/pdf"}'
    for level in range(depth):
        text = (
            f'{{"identifier": "do_u{level}", "mimeType": "application/vnd.ekstep.content-collection", '
            f'"children": [{text}]}}'
        )
    tree = (
        '{"identifier": "do_deep", "name": "Deep", "channel": "ch-1", "status": "Live", '
        '"mimeType": "application/vnd.ekstep.content-collection", "leafNodesCount": 1, '
        f'"children": [{text}]}}'
    )
    row = hierarchy_row({"identifier": "do_deep"})
    row["hierarchy"] = tree
    return write_source(
        tmp,
        course_batch=[batch("bd", "do_deep")],
        content_hierarchy=[row],
        user_enrolments=[enrolment("user-0", "do_deep", "bd")],
        users=[{"userid": "user-0", "firstname": "A", "lastname": "B"}],
    )


def test_a_hierarchy_nested_500_deep_fails_at_once_with_a_clear_reason(
    store, storage, settings, tmp_path
) -> None:
    folder = deep_course(tmp_path / "deep", 500)
    job = store.submit("progress-exhaust", {"batchId": "bd"}, tag="deep", channel="ch-1")[0]
    make_worker(store, storage, settings, source=source_opener(folder)).run_one()
    done = store.get(job.request_id)
    assert done.status == FAILED and done.iteration == 1  # terminal: no retries
    assert "nested" in done.err_message and "Traceback" not in done.err_message


def test_a_hierarchy_at_the_depth_limit_still_builds(store, storage, settings, tmp_path) -> None:
    folder = deep_course(tmp_path / "deep", MAX_DEPTH - 2)
    job = store.submit("progress-exhaust", {"batchId": "bd"}, tag="ok", channel="ch-1")[0]
    make_worker(store, storage, settings, source=source_opener(folder)).run_one()
    assert store.get(job.request_id).status == SUCCESS, store.get(job.request_id).err_message


# ---- defect 9: work folders of killed workers are removed by the next worker --------------------------
def test_a_starting_worker_removes_work_folders_whose_lease_is_gone(store, storage, settings) -> None:
    root = workdir.work_root(settings)
    dead = store.submit("progress-exhaust", {"batchId": "b1"}, tag="dead", channel="ch-1")[0]
    live = store.submit("progress-exhaust", {"batchId": "b2"}, tag="live", channel="ch-1")[0]
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for job, expires in ((dead, now - timedelta(seconds=5)), (live, now + timedelta(minutes=5))):
            conn.execute(
                store.t.update()
                .where(store.t.c.request_id == job.request_id)
                .values(status=PROCESSING, lease_owner="gone:1", lease_expires_at=expires, iteration=1)
            )
    for name in (dead.request_id, live.request_id, "0" * 32):
        (root / name).mkdir(parents=True)
        (root / name / "b1_progress_20260101.csv").write_bytes(b"x" * 1000)  # a partial report
    Worker(store, storage, settings.model_copy(update={"max_attempts": 1}), builder=stand_in_builder(),
           source=source_opener(Path(settings.source))).run(once=True)  # fmt: skip
    assert sorted(p.name for p in root.iterdir()) == [live.request_id]  # dead and unknown ones removed


def test_nothing_is_left_in_the_work_folder_after_jobs_end(store, storage, settings) -> None:
    for tag in ("a", "b"):
        store.submit("progress-exhaust", {"batchId": "b1"}, tag=tag, channel="ch-1")
    store.submit("progress-exhaust", {"batchId": "nope"}, tag="c", channel="ch-1")
    assert make_worker(store, storage, settings, stand_in_builder()).run(once=True) == 3
    assert list(workdir.work_root(settings).iterdir()) == []


# ---- defect 12: an unwritable store costs no build; a publish failure keeps the built file ------------
def test_unwritable_storage_is_found_before_any_build(store, storage, settings, tmp_path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the storage folder should be")
    unwritable = settings.model_copy(update={"storage_url": str(blocked / "reports")})
    from exhaust.outputs.storage import open_storage

    calls: list[str] = []
    job = store.submit("progress-exhaust", {"batchId": "b1"}, tag="ro", channel="ch-1")[0]
    make_worker(store, open_storage(unwritable), unwritable, stand_in_builder(calls)).run_one()
    row = store.get(job.request_id)
    assert calls == []  # no build was wasted
    assert row.status == SUBMITTED and row.iteration == 1
    assert (
        row.err_message
        == "Attempt 1 of 3 failed (the report storage could not be written); it will be retried."
    )
    assert str(blocked) not in row.err_message


def test_only_publishing_failed_so_the_retry_reuses_the_built_zip(store, storage, settings) -> None:
    root = Path(settings.storage_url)
    calls: list[str] = []

    def block_the_dataset_folder(batch_id: str) -> None:  # after the probe, before the upload
        root.mkdir(parents=True, exist_ok=True)
        (root / "progress-exhaust").write_text("in the way")

    job = store.submit("progress-exhaust", {"batchId": "b1"}, tag="pub", channel="ch-1", encryption_key="pw")[
        0
    ]
    make_worker(store, storage, settings, stand_in_builder(calls, during=block_the_dataset_folder)).run_one()
    assert store.get(job.request_id).status == SUBMITTED and calls == ["b1"]
    kept = workdir.job_root(settings, job.request_id)
    assert [p.suffix for p in sorted(kept.iterdir())] == [".json", ".zip"]  # the zip waits for the retry

    (root / "progress-exhaust").unlink()
    with store.engine.begin() as conn:
        conn.execute(store.t.update().values(next_attempt_at=None))
    make_worker(store, storage, settings, stand_in_builder(calls)).run_one()
    done = store.get(job.request_id)
    assert done.status == SUCCESS and done.iteration == 2
    assert calls == ["b1"]  # not rebuilt
    assert done.processed_batches[0]["rows"] == 3
    assert not workdir.work_root(settings).joinpath(job.request_id).exists()


# ---- defect 13: requesters see plain reasons ----------------------------------------------------------
def test_status_messages_hold_no_paths_endpoints_or_python_wording(store, storage, settings) -> None:
    from exhaust.errors import SourceDataError

    job = store.submit("progress-exhaust", {"batchId": "b1"}, tag="msg", channel="ch-1")[0]
    error = SourceDataError("/srv/exhaust/source/users.csv line 3: bad date at http://minio:9000/bucket/x")
    make_worker(store, storage, settings, stand_in_builder(fail=lambda b: error)).run_one()
    message = store.get(job.request_id).err_message
    assert message == "a server file line 3: bad date at a service"

    job = store.submit("progress-exhaust", {"batchId": "b2"}, tag="msg2", channel="ch-1")[0]
    crash = KeyError("s3://reports-bucket/progress-exhaust/x.zip")
    make_worker(store, storage, settings, stand_in_builder(fail=lambda b: crash)).run_one()
    message = store.get(job.request_id).err_message
    assert message == "Attempt 1 of 3 failed (an unexpected error occurred); it will be retried."


# ---- defect 16: the zip password is cleared once the request is final ---------------------------------
def test_the_encryption_key_is_cleared_at_the_final_state(store, storage, settings) -> None:
    ok = store.submit("userinfo-exhaust", {"batchId": "b1"}, tag="k1", channel="ch-1", encryption_key="pw1")[
        0
    ]
    bad = store.submit(
        "userinfo-exhaust", {"batchId": "nope"}, tag="k2", channel="ch-1", encryption_key="pw2"
    )[0]
    assert store.get(ok.request_id).encryption_key == "pw1"
    make_worker(store, storage, settings, stand_in_builder()).run(once=True)
    query = store.t.select().with_only_columns(store.t.c.request_id, store.t.c.encryption_key)
    with store.engine.connect() as conn:
        keys = {row[0]: row[1] for row in conn.execute(query)}
    assert store.get(ok.request_id).status == SUCCESS and store.get(bad.request_id).status == FAILED
    assert keys == {ok.request_id: None, bad.request_id: None}
    # Resubmitting the FAILED request brings its key again.
    again, requeued = store.submit(
        "userinfo-exhaust", {"batchId": "nope"}, tag="k2", channel="ch-1", encryption_key="pw4"
    )
    assert (
        requeued and again.request_id == bad.request_id and store.get(bad.request_id).encryption_key == "pw4"
    )


def test_a_retry_keeps_the_key_until_the_end(store, storage, settings) -> None:
    job = store.submit("userinfo-exhaust", {"batchId": "b1"}, tag="k", channel="ch-1", encryption_key="pw")[0]
    make_worker(store, storage, settings, stand_in_builder(fail=lambda b: ConnectionError("x"))).run_one()
    assert store.get(job.request_id).status == SUBMITTED and store.get(job.request_id).encryption_key == "pw"


def test_processed_entries_say_whether_the_zip_needs_the_password(store, storage, settings) -> None:
    locked = store.submit(
        "progress-exhaust", {"batchId": "b1"}, tag="p1", channel="ch-1", encryption_key="pw"
    )[0]
    plain = store.submit("progress-exhaust", {"batchId": "b1"}, tag="p2", channel="ch-1")[0]
    make_worker(store, storage, settings, stand_in_builder()).run(once=True)
    assert store.get(locked.request_id).processed_batches[0]["passwordProtected"] is True
    assert store.get(plain.request_id).processed_batches[0]["passwordProtected"] is False
    assert json.dumps(store.get(locked.request_id).processed_batches).count("pw") == 0
    assert os.path.exists(storage.path(store.get(plain.request_id).download_urls[0]))


# ---- defect 11: an idle worker rides out a job store outage quietly and stops cleanly ----------------
def test_an_idle_worker_backs_off_during_an_outage_and_exits_0_on_sigterm(
    pg_url: str, tmp_path, table_name
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.tcp_proxy import TcpProxy

    proxy = TcpProxy(("127.0.0.1", 5432)).up()
    url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update(EXHAUST_DB_URL=url, EXHAUST_JOB_TABLE=table_name, EXHAUST_DATA_DIR=str(tmp_path / "data"),
               EXHAUST_POLL_SECONDS="0.1", EXHAUST_STORAGE_URL=str(tmp_path / "storage"))  # fmt: skip
    log = tmp_path / "worker.log"
    worker = subprocess.Popen([sys.executable, "-m", "exhaust", "worker"], env=env, stderr=log.open("w"),
                              stdout=subprocess.DEVNULL)  # fmt: skip

    def wait_for_text(text: str) -> None:
        deadline = time.monotonic() + 60
        while text not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.1)

    try:
        wait_for_text("started")
        time.sleep(1)  # polling
        proxy.down()
        time.sleep(6)  # 60 polls at 0.1 s if it did not back off
        errors = [line for line in log.read_text().splitlines() if " ERROR " in line]
        assert 1 <= len(errors) <= 2, errors  # one line when the outage starts, not one per poll
        assert "Traceback" not in log.read_text()
        proxy.up()
        wait_for_text("reaches the job store again")
        assert "reaches the job store again" in log.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
        proxy.down()
    assert code == 0, log.read_text()
