"""The job store on SQLite and PostgreSQL: submit validation, same-day deduplication, the FAILED reset."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from exhaust.errors import BadInput
from exhaust.jobs import migrate
from exhaust.jobs.store import FAILED, PROCESSING, SUBMITTED, SUCCESS, JobStore


def submit(store: JobStore, data: dict | None = None, **kw):
    kw.setdefault("tag", "do_c1_b1")
    kw.setdefault("channel", "ORG_1")
    kw.setdefault("requested_by", "user-1")
    return store.submit(
        kw.pop("dataset", "progress-exhaust"), {"batchId": "b1"} if data is None else data, **kw
    )


def test_new_request_is_submitted_with_sunbird_fields(store: JobStore) -> None:
    job, queued = submit(store, encryption_key="pw")
    assert queued
    assert job.status == SUBMITTED and job.iteration == 0 and job.attempts == 0
    assert job.tag == "do_c1_b1:ORG_1" and job.client_tag == "do_c1_b1"
    assert len(job.request_id) == 32 and job.request_id == job.request_id.upper()
    assert job.request_data == {"batchId": "b1"} and job.requested_channel == "ORG_1"
    assert job.dt_job_submitted is not None and job.dt_job_submitted.tzinfo is not None
    assert store.get(job.request_id).encryption_key == "pw"


def test_same_request_same_day_is_the_same_row(store: JobStore) -> None:
    first, _ = submit(store)
    again, queued = submit(store, {"batchFilter": ["b1", "b2"]}, encryption_key="new")
    assert not queued
    assert again.request_id == first.request_id
    assert again.request_data == {"batchId": "b1"}  # ignored, as in Sunbird
    assert again.encryption_key is None
    assert store.counts() == {SUBMITTED: 1}


def test_other_day_channel_or_requester_is_a_new_row(store: JobStore) -> None:
    first, _ = submit(store, day=date(2024, 1, 1))
    ids = {
        first.request_id,
        submit(store, day=date(2024, 1, 2))[0].request_id,
        submit(store, day=date(2024, 1, 1), channel="ORG_2")[0].request_id,
        submit(store, day=date(2024, 1, 1), requested_by="user-2")[0].request_id,
    }
    assert len(ids) == 4


def test_success_is_returned_unchanged(store: JobStore) -> None:
    submit(store)
    claimed = store.claim("w", lease_seconds=30, max_attempts=3)
    assert store.finish(
        claimed, "w", status=SUCCESS, processed=[{"batchId": "b1", "filePath": "k.zip"}], execution_ms=5
    )
    again, queued = submit(store, encryption_key="other")
    assert not queued and again.status == SUCCESS and again.download_urls == ["k.zip"]


def test_failed_request_is_reset(store: JobStore) -> None:
    submit(store, encryption_key="old")
    claimed = store.claim("w", lease_seconds=30, max_attempts=3)
    done = [{"batchId": "b1", "filePath": "progress-exhaust/x/b1.zip", "fileSize": 3}]
    store.finish(claimed, "w", status=FAILED, processed=done, execution_ms=7, message="boom")
    failed = store.get(claimed.request_id)
    assert (
        failed.status == FAILED
        and (failed.iteration, failed.attempts) == (1, 1)
        and failed.err_message == "boom"
    )
    assert failed.download_urls == ["progress-exhaust/x/b1.zip"]

    reset, queued = submit(store, {"batchFilter": ["b1", "b2"]}, encryption_key="new")
    assert queued and reset.request_id == failed.request_id
    assert reset.status == SUBMITTED and reset.iteration == 0 and reset.attempts == 0
    assert reset.err_message is None and reset.download_urls == [] and reset.processed_batches == []
    assert reset.dt_job_completed is None and reset.execution_time is None
    assert reset.request_data == {"batchFilter": ["b1", "b2"]} and reset.encryption_key == "new"
    assert store.claim("w", lease_seconds=30, max_attempts=3).request_id == reset.request_id


@pytest.mark.parametrize(
    ("dataset", "data", "key", "message"),
    [
        ("druid-dataset", {"batchId": "b1"}, None, "unknown dataset 'druid-dataset'"),
        ("progress-exhaust", {}, None, "exactly one of batchId, batchFilter or searchFilter"),
        ("progress-exhaust", {"batchId": "b1", "batchFilter": ["b2"]}, None, "exactly one of"),
        ("progress-exhaust", {"batchFilter": [f"b{i}" for i in range(21)]}, None, "It should be within 20"),
        ("progress-exhaust", {"batchFilter": "b1"}, None, "batchFilter must be a list"),
        ("progress-exhaust", {"batchId": "../etc"}, None, "invalid batch id '../etc'"),
        ("progress-exhaust", {"searchFilter": {"createdBy": "x"}}, None, "cannot filter on createdBy"),
        ("userinfo-exhaust", {"batchId": "b1"}, None, "needs an encryption key"),
        ("course-mentor", {"batchId": "b1"}, "", "needs an encryption key"),
    ],
)
def test_validation_messages(
    store: JobStore, dataset: str, data: dict, key: str | None, message: str
) -> None:
    with pytest.raises(BadInput) as caught:
        submit(store, data, dataset=dataset, encryption_key=key)
    assert message in str(caught.value)
    assert store.counts() == {}


def test_twenty_distinct_batches_are_allowed(store: JobStore) -> None:
    ids = [f"b{i}" for i in range(20)] + ["b0"]  # duplicates removed before counting
    job, queued = submit(store, {"batchFilter": ids})
    assert queued and job.status == SUBMITTED


def test_list_by_tag_newest_first_and_search(store: JobStore) -> None:
    a, _ = submit(store, day=date(2024, 1, 1))
    b, _ = submit(store, day=date(2024, 1, 2))
    c, _ = submit(store, channel="ORG_2")
    submit(store, tag="other", channel="ORG_2")
    assert [j.request_id for j in store.list("do_c1_b1", channel="ORG_1")] == [b.request_id, a.request_id]
    assert {j.request_id for j in store.list("do_c1_b1")} == {a.request_id, b.request_id, c.request_id}
    assert store.list("do_c1") == []  # a prefix of a tag is not the tag
    total, jobs = store.search(channel="ORG_2", status=SUBMITTED, limit=10)
    assert total == 2 and {j.client_tag for j in jobs} == {"do_c1_b1", "other"}


def test_claim_takes_each_job_once(store: JobStore) -> None:
    for i in range(3):
        submit(store, tag=f"t{i}")
    claimed = [store.claim(f"w{i}", lease_seconds=30, max_attempts=3) for i in range(4)]
    assert claimed[3] is None
    assert len({j.request_id for j in claimed[:3]}) == 3
    assert all(j.status == PROCESSING and (j.attempts, j.iteration) == (1, 0) for j in claimed[:3])


def test_expired_lease_is_claimed_again_and_fenced(store: JobStore) -> None:
    submit(store)
    first = store.claim("dead", lease_seconds=0.2, max_attempts=3)
    assert store.claim("other", lease_seconds=30, max_attempts=3) is None
    import time

    time.sleep(0.4)
    second = store.claim("other", lease_seconds=30, max_attempts=3)
    assert (
        second.request_id == first.request_id
        and (second.attempts, second.iteration) == (2, 1)
        and second.lease_owner == "other"
    )
    assert not store.renew(first, "dead", lease_seconds=30, progress=50, phase="x")
    assert not store.finish(first, "dead", status=SUCCESS, processed=[], execution_ms=1)
    assert store.get(first.request_id).status == PROCESSING


def test_last_attempt_lost_is_reaped(store: JobStore) -> None:
    import time

    submit(store)
    store.claim("dead", lease_seconds=0.1, max_attempts=1)
    time.sleep(0.3)
    assert store.claim("w", lease_seconds=30, max_attempts=1) is None
    assert store.reap(1) == 1
    job = store.list("do_c1_b1")[0]
    assert job.status == FAILED and "stopped unexpectedly" in job.err_message


def test_only_known_datasets_are_claimed(store: JobStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(store.t).values(
                tag="x:ORG", request_id="R1", job_id="druid-dataset", status=SUBMITTED, iteration=0
            )
        )
    assert store.claim("w", lease_seconds=30, max_attempts=3) is None


def test_migrations_are_idempotent(store: JobStore) -> None:
    assert not migrate.upgrade(store.engine, store.t.name)
    assert migrate.current_revisions(store.engine, store.t.name) == migrate.head_revisions()
