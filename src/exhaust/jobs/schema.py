"""The job table as the code sees it (Sunbird's columns plus the queue's), its channel-turn table, and
`Job`, one row of it. The migrations (`jobs/migrations/`) create the tables or adopt Sunbird's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from exhaust.jobs.db import UTCDateTime

SUBMITTED, PROCESSING, SUCCESS, FAILED = "SUBMITTED", "PROCESSING", "SUCCESS", "FAILED"
NOTIFY_CHANNEL = "exhaust_jobs"
SYSTEM_CHANNEL = "System"  # Sunbird's requester channel for "no particular channel"
MAX_ERROR = 300
#: Days a search by `requestedDate` can match: outside them no job exists, and the day's bounds in UTC
#: would overflow `datetime` at year 1 and 9999.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(9000, 12, 31)
#: A text array on PostgreSQL (Sunbird's `text[]`), JSON elsewhere. The generic ARRAY, which the PostgreSQL
#: dialect turns into its own, keeps that dialect unloaded where it is not used (`exhaust status` on SQLite).
UrlList = sa.JSON(none_as_null=True).with_variant(sa.ARRAY(sa.Text()), "postgresql")


def job_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """The job table as the code sees it (the migrations create it, or adopt Sunbird's)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("tag", sa.String(100), primary_key=True),
        sa.Column("request_id", sa.String(50), primary_key=True),
        sa.Column("job_id", sa.String(50)),
        sa.Column("status", sa.String(50)),
        sa.Column("request_data", sa.JSON(none_as_null=True)),
        sa.Column("requested_by", sa.String(50)),
        sa.Column("requested_channel", sa.String(50)),
        sa.Column("dt_job_submitted", UTCDateTime()),
        sa.Column("download_urls", UrlList),
        sa.Column("dt_file_created", UTCDateTime()),
        sa.Column("dt_job_completed", UTCDateTime()),
        sa.Column("execution_time", sa.BigInteger()),
        sa.Column("err_message", sa.String(MAX_ERROR)),
        sa.Column("iteration", sa.Integer()),
        sa.Column("encryption_key", sa.String(500)),
        sa.Column("batch_number", sa.Integer()),
        sa.Column("processed_batches", sa.Text()),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", UTCDateTime()),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("dt_job_started", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime()),
        sa.Column("progress", sa.Integer()),
        sa.Column("phase", sa.String(200)),
        sa.Column("attempts", sa.Integer()),  # claims so far; `iteration` is Sunbird's failed-run count
    )


def turn_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """When each channel was last served: claims go to the channel waiting longest (fairness)."""
    return sa.Table(
        f"{name}_channel_turn",
        metadata,
        sa.Column("channel", sa.String(100), primary_key=True),
        sa.Column("last_claimed_at", UTCDateTime()),
    )


@dataclass
class Job:
    """One row of the job table."""

    tag: str
    request_id: str
    job_id: str
    status: str
    request_data: dict
    requested_by: str
    requested_channel: str
    dt_job_submitted: datetime | None
    download_urls: list[str]
    dt_job_completed: datetime | None
    execution_time: int | None
    err_message: str | None
    iteration: int
    encryption_key: str | None = field(repr=False)
    processed_batches: list[dict]
    lease_owner: str | None
    lease_expires_at: datetime | None
    next_attempt_at: datetime | None
    dt_job_started: datetime | None
    progress: int | None
    phase: str | None
    attempts: int = 0  # runs started (claims); `iteration` counts failed runs, as Sunbird does

    @property
    def dataset(self) -> str:
        return self.job_id

    @property
    def client_tag(self) -> str:
        """The tag as the client gave it (without the `:channel` suffix)."""
        suffix = f":{self.requested_channel}"
        return self.tag[: -len(suffix)] if self.tag.endswith(suffix) else self.tag

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Job:
        data = row["request_data"]
        if isinstance(data, str):
            data = json.loads(data) if data else {}
        return cls(
            tag=row["tag"],
            request_id=row["request_id"],
            job_id=row["job_id"],
            status=row["status"],
            request_data=data or {},
            requested_by=row["requested_by"] or "",
            requested_channel=row["requested_channel"] or "",
            dt_job_submitted=row["dt_job_submitted"],
            download_urls=list(row["download_urls"] or []),
            dt_job_completed=row["dt_job_completed"],
            execution_time=row["execution_time"],
            err_message=row["err_message"],
            iteration=row["iteration"] or 0,
            encryption_key=row["encryption_key"],
            processed_batches=parse_processed(row["processed_batches"]),
            lease_owner=row["lease_owner"],
            lease_expires_at=row["lease_expires_at"],
            next_attempt_at=row["next_attempt_at"],
            dt_job_started=row["dt_job_started"],
            progress=row["progress"],
            phase=row["phase"],
            attempts=row.get("attempts") or 0,
        )


def parse_processed(value: Any) -> list[dict]:
    """`processed_batches` as a list (the column is text on some Sunbird tables, json on others)."""
    if value in (None, ""):
        return []
    parsed = json.loads(value) if isinstance(value, str) else value
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []
