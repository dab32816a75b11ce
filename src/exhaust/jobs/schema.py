"""The job table as the code sees it (Sunbird's columns plus the queue's) and its channel-turn table
(`Job`, one row of it, is in `jobs/job.py`). The migrations (`jobs/migrations/`) create the tables or adopt Sunbird's."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from exhaust.jobs.db import UTCDateTime
from exhaust.jobs.job import FAILED, PROCESSING, SUBMITTED, SUCCESS, Job, parse_processed

__all__ = [
    "FAILED", "MAX_DATE", "MAX_ERROR", "MIN_DATE", "NOTIFY_CHANNEL", "PROCESSING", "SUBMITTED", "SUCCESS",
    "SYSTEM_CHANNEL", "Job", "UrlList", "job_table", "parse_processed", "turn_table",
]  # fmt: skip

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
