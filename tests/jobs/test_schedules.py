"""Recurring requests: cron slots in the configured zone, one run for missed slots, one leader, one firing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from exhaust.errors import BadInput, ExhaustError
from exhaust.jobs.db import make_engine
from exhaust.jobs.migrate import upgrade
from exhaust.jobs.scheduler import Leadership, Scheduler, register_emitted
from exhaust.jobs.schedules import ScheduleStore, next_slot
from exhaust.jobs.service import open_store
from exhaust.settings import Settings
from tests.jobs.helpers import make_source

REPO = Path(__file__).resolve().parents[2]


def settings_for(root: Path, db_url: str, table: str = "job_request") -> Settings:
    return Settings(
        data_dir=root / "data", db_url=db_url, job_table=table, source=str(make_source(root / "source")),
        storage_url=str(root / "storage"), timezone="Asia/Kolkata", retry_backoff_seconds=0,
        schedule_poll_seconds=0.2,
    )  # fmt: skip


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite3'}")


@pytest.fixture
def pg_settings(tmp_path: Path, pg_url: str) -> Settings:
    return settings_for(tmp_path, pg_url, table=f"jr_sched_{os.urandom(3).hex()}")


def test_slots_are_computed_in_the_configured_time_zone() -> None:
    # 06:00 in Kolkata is 00:30 UTC; after 07:00 Kolkata the next slot is the next day's.
    after = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 07:00 IST
    assert next_slot("0 6 * * *", after, "Asia/Kolkata") == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    assert next_slot("0 6 * * *", after, "UTC") == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_a_bad_cron_or_request_is_refused_in_one_sentence(sqlite_settings: Settings) -> None:
    store = open_store(sqlite_settings)
    schedules = ScheduleStore(store.engine, sqlite_settings.job_table, sqlite_settings.timezone)
    with pytest.raises(BadInput, match="invalid cron expression"):
        schedules.add("progress-exhaust", {"batchId": "b1"}, cron="every day")
    with pytest.raises(BadInput, match="unknown dataset"):
        schedules.add("nope-exhaust", {"batchId": "b1"}, cron="0 6 * * *")
    with pytest.raises(BadInput, match="encryption key"):
        schedules.add("userinfo-exhaust", {"batchId": "b1"}, cron="0 6 * * *")
    assert schedules.list() == []


def test_missed_slots_after_downtime_run_once(sqlite_settings: Settings) -> None:
    store = open_store(sqlite_settings)
    scheduler = Scheduler(store, sqlite_settings, owner="w1")
    schedule = scheduler.schedules.add(
        "progress-exhaust", {"batchId": "b1"}, cron="0 6 * * *", channel="ch-1"
    )
    now = datetime.now(UTC)
    # Every worker was down for three days: three 06:00 slots went by.
    scheduler.schedules.set_next_run(schedule.schedule_id, now - timedelta(days=3, minutes=5))
    fired = scheduler.tick(now)
    assert [f.schedule_id for f in fired] == [schedule.schedule_id]
    assert fired[0].error is None
    after = scheduler.schedules.get(schedule.schedule_id)
    assert after is not None and after.runs == 1 and after.next_run_at > now
    assert after.next_run_at - now <= timedelta(days=1)
    assert scheduler.tick(now) == []  # nothing more is due
    job = store.get(fired[0].started or "")
    assert job is not None and job.status == "SUBMITTED" and job.request_data == {"batchId": "b1"}
    assert job.tag == f"schedule-{schedule.schedule_id}:ch-1"


def test_a_slot_taken_by_one_scheduler_is_not_fired_by_another(pg_settings: Settings) -> None:
    store = open_store(pg_settings)
    first, second = Scheduler(store, pg_settings, "w1"), Scheduler(store, pg_settings, "w2")
    schedule = first.schedules.add("progress-exhaust", {"batchId": "b2"}, cron="*/5 * * * *")
    now = datetime.now(UTC)
    first.schedules.set_next_run(schedule.schedule_id, now - timedelta(minutes=1))
    stale = first.schedules.get(schedule.schedule_id)
    assert stale is not None
    # Both saw the slot as due; only the compare-and-set winner fires it.
    assert first.schedules.claim_slot(stale, now) is not None
    assert second.schedules.claim_slot(stale, now) is None
    assert first.schedules.get(schedule.schedule_id).runs == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_one_leader_at_a_time(backend: str, sqlite_settings: Settings, pg_settings: Settings) -> None:
    settings = sqlite_settings if backend == "sqlite" else pg_settings
    store = open_store(settings)
    one = Leadership(store.engine, settings.job_table, "w1", ttl_seconds=30)
    two = Leadership(store.engine, settings.job_table, "w2", ttl_seconds=30)
    assert one.acquire() is True
    assert two.acquire() is False
    assert one.acquire() is True  # the holder keeps it
    one.release()
    assert two.acquire() is True
    assert one.acquire() is False
    two.release()


def test_an_expired_sqlite_leader_is_replaced(sqlite_settings: Settings) -> None:
    store = open_store(sqlite_settings)
    gone = Leadership(store.engine, sqlite_settings.job_table, "crashed", ttl_seconds=0.01)
    assert gone.acquire()
    later = Leadership(store.engine, sqlite_settings.job_table, "w2", ttl_seconds=30)
    import time

    time.sleep(0.05)
    assert later.acquire()


def test_from_emitted_reads_the_batch_ids_at_each_run(sqlite_settings: Settings) -> None:
    store = open_store(sqlite_settings)
    emitted = {"ids": ["b1", "b3"]}
    register_emitted("batch-ids", lambda _settings: list(emitted["ids"]))
    scheduler = Scheduler(store, sqlite_settings, owner="w1")
    schedule = scheduler.schedules.add(
        "progress-exhaust", {"fromEmitted": "batch-ids"}, cron="0 6 * * *", channel="ch-1"
    )
    job = store.get(scheduler.run_now(schedule))
    assert job is not None and job.request_data == {"batchFilter": ["b1", "b3"]}
    emitted["ids"] = []
    with pytest.raises(ExhaustError, match="lists no batch ids"):
        scheduler.run_now(schedule)


def test_the_schedule_table_comes_with_migration_0005(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine, "jr")
    tables = set(sa.inspect(engine).get_table_names())
    assert {"jr", "jr_schedule", "jr_scheduler_leader"} <= tables


def _cli(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update(
        EXHAUST_DATA_DIR=str(settings.data_dir), EXHAUST_DB_URL=settings.db_url,
        EXHAUST_JOB_TABLE=settings.job_table, EXHAUST_SOURCE=settings.source,
        EXHAUST_STORAGE_URL=settings.storage_url, EXHAUST_RETRY_BACKOFF_SECONDS="0",
        EXHAUST_SCHEDULE_POLL_SECONDS="0.2", PYTHONPATH=str(REPO / "src"),
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "exhaust", *args], env=env, input=stdin, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_cli_add_list_run_now_remove(sqlite_settings: Settings) -> None:
    added = _cli(
        sqlite_settings, "schedule", "add", "userinfo-exhaust", "--batch", "b1", "--cron", "0 6 * * *",
        "--channel", "ch-1", "--email", "lead@example.org", "--encryption-key", "-", stdin="s3cret\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    schedule_id = added.stdout.strip()
    assert "next run" in added.stderr and "+05:30" in added.stderr
    listed = _cli(sqlite_settings, "schedule", "list")
    assert listed.returncode == 0 and schedule_id in listed.stdout
    assert "s3cret" not in listed.stdout and '"encrypted": true' in listed.stdout
    assert '"email": "lead@example.org"' in listed.stdout
    ran = _cli(sqlite_settings, "schedule", "run-now", schedule_id)
    assert ran.returncode == 0, ran.stderr
    job = open_store(sqlite_settings).get(ran.stdout.strip())
    assert job is not None and job.job_id == "userinfo-exhaust" and job.encryption_key == "s3cret"
    bad = _cli(sqlite_settings, "schedule", "add", "progress-exhaust", "--cron", "0 6 * * *")
    assert bad.returncode == 1 and "exactly one of" in bad.stderr and "Traceback" not in bad.stderr
    assert _cli(sqlite_settings, "schedule", "remove", schedule_id).returncode == 0
    gone = _cli(sqlite_settings, "schedule", "remove", schedule_id)
    assert gone.returncode == 1 and "no schedule" in gone.stderr


def test_two_real_workers_fire_a_missed_slot_once(pg_settings: Settings) -> None:
    store = open_store(pg_settings)
    schedules = ScheduleStore(store.engine, pg_settings.job_table, pg_settings.timezone)
    schedule = schedules.add("progress-exhaust", {"batchId": "b1"}, cron="0 6 * * *", channel="ch-1")
    schedules.set_next_run(schedule.schedule_id, datetime.now(UTC) - timedelta(days=2))
    env_settings = pg_settings
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "exhaust", "worker", "--once"],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")},
                "EXHAUST_DATA_DIR": str(env_settings.data_dir),
                "EXHAUST_DB_URL": env_settings.db_url,
                "EXHAUST_JOB_TABLE": env_settings.job_table,
                "EXHAUST_SOURCE": env_settings.source,
                "EXHAUST_STORAGE_URL": env_settings.storage_url,
                "PYTHONPATH": str(REPO / "src"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    logs = [w.communicate(timeout=180)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), logs
    after = schedules.get(schedule.schedule_id)
    assert after is not None and after.runs == 1, logs
    assert sum(log.count(f"schedule {schedule.schedule_id} fired") for log in logs) == 1
    jobs = store.list(f"schedule-{schedule.schedule_id}")
    assert len(jobs) == 1 and jobs[0].status == "SUCCESS"
