"""Sunbird's request id algorithm (research §4.3 test vectors) and the day in the configured time zone."""

from __future__ import annotations

from datetime import date

from exhaust.jobs.store import request_id


def test_progress_vector() -> None:
    got = request_id("progress-exhaust", "do_123_0456", "user-1", "ORG_001", date(2021, 5, 19))
    assert got == "FC535478571E5008D942515A54B84F17"


def test_vector_with_dataset_type() -> None:
    got = request_id(
        "druid-dataset", "test-tag", "test-1", "in.ekstep", date(2021, 5, 19), "ml-task-detail-exhaust"
    )
    assert got == "B540263F7D9F041775176A6B61303BA2"


def test_every_part_changes_the_id() -> None:
    base = ("progress-exhaust", "tag", "user", "ORG", date(2024, 1, 1))
    ids = {request_id(*base)}
    ids.add(request_id("response-exhaust", *base[1:]))
    ids.add(request_id(base[0], "tag2", *base[2:]))
    ids.add(request_id(*base[:2], "user2", *base[3:]))
    ids.add(request_id(*base[:3], "ORG2", base[4]))
    ids.add(request_id(*base[:4], date(2024, 1, 2)))
    assert len(ids) == 6
