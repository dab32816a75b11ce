"""`Job`, one row of the job table, and its statuses, without SQLAlchemy: `exhaust status` reads a row
straight through the database driver (`jobs/lookup.py`), and importing SQLAlchemy is half its start-up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SUBMITTED, PROCESSING, SUCCESS, FAILED = "SUBMITTED", "PROCESSING", "SUCCESS", "FAILED"


def database_url(settings: Any) -> str:
    """The configured URL with the driver made explicit (`postgresql://` means psycopg 3 here)."""
    url = settings.db_url or f"sqlite:///{Path(settings.data_dir).resolve() / 'jobs.sqlite3'}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def as_utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime: `timestamptz` from PostgreSQL, naive UTC text from SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
        """A job from a row read through SQLAlchemy or straight from the driver (JSON as text, SQLite's
        times as naive UTC text)."""
        data, urls = row["request_data"], row["download_urls"]
        if isinstance(data, str):
            data = json.loads(data) if data else {}
        if isinstance(urls, str):
            urls = json.loads(urls)
        return cls(
            tag=row["tag"],
            request_id=row["request_id"],
            job_id=row["job_id"],
            status=row["status"],
            request_data=data or {},
            requested_by=row["requested_by"] or "",
            requested_channel=row["requested_channel"] or "",
            dt_job_submitted=as_utc(row["dt_job_submitted"]),
            download_urls=list(urls or []),
            dt_job_completed=as_utc(row["dt_job_completed"]),
            execution_time=row["execution_time"],
            err_message=row["err_message"],
            iteration=row["iteration"] or 0,
            encryption_key=row["encryption_key"],
            processed_batches=parse_processed(row["processed_batches"]),
            lease_owner=row["lease_owner"],
            lease_expires_at=as_utc(row["lease_expires_at"]),
            next_attempt_at=as_utc(row["next_attempt_at"]),
            dt_job_started=as_utc(row["dt_job_started"]),
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
