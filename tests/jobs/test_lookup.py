"""`exhaust status` reads a job straight through the driver: the same `Job` as the store's, or a hand-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhaust.jobs.job import database_url
from exhaust.jobs.lookup import NotReadDirectly, read_job
from exhaust.jobs.store import SUBMITTED, SUCCESS, JobStore
from exhaust.settings import Settings
from tests.jobs.test_sunbird_table import SUNBIRD_DDL


def test_a_finished_job_reads_as_the_store_reads_it(store: JobStore, settings: Settings) -> None:
    queued, _ = store.submit(
        "progress-exhaust", {"batchId": "b1", "note": "ಕನ್ನಡ"}, tag="t1", channel="ORG_1", encryption_key="pw"
    )
    done, _ = store.submit("progress-exhaust", {"batchId": "b2"}, tag="t2", channel="ORG_1")
    claimed = store.claim("w", lease_seconds=30, max_attempts=3)
    assert claimed is not None
    processed = [{"batchId": claimed.request_data["batchId"], "filePath": "a/b 1.zip"}]
    assert store.finish(claimed, "w", status=SUCCESS, processed=processed, execution_ms=7)

    url = database_url(settings)
    for wanted in (queued.request_id, done.request_id):
        direct, stored = read_job(url, settings.job_table, wanted), store.get(wanted)
        assert direct == stored  # every field, times (aware UTC), URLs, request data and the key
    finished = read_job(url, settings.job_table, claimed.request_id)
    assert finished is not None and finished.status == SUCCESS and finished.download_urls == ["a/b 1.zip"]
    assert finished.dt_job_completed is not None and finished.dt_job_completed.utcoffset() is not None
    other = read_job(url, settings.job_table, queued.request_id if claimed is done else done.request_id)
    assert other is not None and other.status == SUBMITTED
    assert read_job(url, settings.job_table, "0" * 32) is None


def test_a_table_that_is_not_there_is_handed_to_the_store(store: JobStore, settings: Settings) -> None:
    with pytest.raises(NotReadDirectly):
        read_job(database_url(settings), settings.job_table + "_missing", "0" * 32)


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "jobs.sqlite3"
    with pytest.raises(NotReadDirectly):
        read_job(f"sqlite:///{path}", "job_request", "0" * 32)
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///jobs.db?mode=ro", "mysql://root@127.0.0.1/test"],
)
def test_other_urls_are_handed_to_the_store(url: str) -> None:
    with pytest.raises(NotReadDirectly):
        read_job(url, "job_request", "0" * 32)


def test_a_server_that_does_not_answer_is_handed_to_the_store() -> None:
    with pytest.raises(NotReadDirectly):
        read_job("postgresql+psycopg://postgres@127.0.0.1:1/test", "job_request", "0" * 32)


def test_a_sunbird_table_not_yet_migrated_is_handed_to_the_store(pg_url: str, table_name: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(SUNBIRD_DDL.format(t=table_name).encode())
    url = pg_url.replace("postgresql://", "postgresql+psycopg://")
    with pytest.raises(NotReadDirectly):  # no queue columns yet: the store migrates the table first
        read_job(url, table_name, "AB12")
