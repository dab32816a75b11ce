"""The `job_request` store (SPEC §4.1): Sunbird's table and key, plus the columns a robust queue needs.

Sunbird's columns keep its API clients and dashboards working; the queue columns (lease owner and expiry,
next attempt time, progress, phase) let any number of workers share the table safely. A request id is the
upper-case MD5 of `dataset|tag|requestedBy|channel|yyyy-MM-dd[|type]`, the date in the configured time
zone, so the same request on the same day is the same row.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.errors import BadInput
from exhaust.jobs.coalescer import Coalescer
from exhaust.jobs.datasets import DATASETS, check_request
from exhaust.jobs.db import READ_ONLY, UTCDateTime, is_postgres, utcnow
from exhaust.jobs.schema import (
    FAILED,
    MAX_DATE,
    MAX_ERROR,
    MIN_DATE,
    NOTIFY_CHANNEL,
    PROCESSING,
    SUBMITTED,
    SUCCESS,
    SYSTEM_CHANNEL,
    Job,
    UrlList,
    job_table,
    parse_processed,
    turn_table,
)
from exhaust.jobs.text import check_tag, check_value

# The schema and the coalescer live in their own modules; their names stay importable from here.
__all__ = [
    "FAILED", "MAX_DATE", "MAX_ERROR", "MIN_DATE", "NOTIFY_CHANNEL", "PROCESSING", "SUBMITTED", "SUCCESS",
    "SYSTEM_CHANNEL", "Coalescer", "Job", "JobStore", "UrlList", "abbreviate", "job_table",
    "parse_processed", "request_id", "today", "turn_table",
]  # fmt: skip


def request_id(
    dataset: str,
    tag: str,
    requested_by: str,
    channel: str,
    day: date,
    dataset_type: str | None = None,
) -> str:
    """Sunbird's request id: upper-case hex MD5 of `dataset|tag|requestedBy|channel|yyyy-MM-dd[|type]`."""
    parts = [dataset, tag, requested_by, channel, day.strftime("%Y-%m-%d")]
    if dataset_type is not None:
        parts.append(dataset_type)
    return hashlib.md5("|".join(parts).encode("utf-8")).hexdigest().upper()


def today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def abbreviate(message: str, limit: int = MAX_ERROR) -> str:
    """One line of at most `limit` characters, ending in `...` when cut (as Sunbird does)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class JobStore:
    """All reads and writes of the job table; every write that a worker makes is fenced by its lease."""

    def __init__(self, engine: Engine, table: str = "job_request", timezone: str = "Asia/Kolkata") -> None:
        self.engine = engine
        self.timezone = timezone
        self.metadata = sa.MetaData()
        self.t = job_table(table, self.metadata)
        self.turn = turn_table(table, self.metadata)
        self.postgres = is_postgres(engine)
        # Built once: the API reads a job by key on every submit and read, and building a statement
        # (and its cache key) each time costs more than running the compiled one.
        by_id = sa.select(self.t).where(self.t.c.request_id == sa.bindparam("request_id")).limit(1)
        self._get_by_id = by_id
        self._get_by_key = by_id.where(self.t.c.tag == sa.bindparam("tag"))
        self._reads = Coalescer()

    def _upsert(self, table: sa.Table) -> Any:
        """The dialect's INSERT … ON CONFLICT on `table` (its module is imported on the first write, so a
        read-only command such as `exhaust status` loads neither)."""
        from sqlalchemy.dialects import postgresql, sqlite

        return (postgresql.insert if self.postgres else sqlite.insert)(table)

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A read-only connection (on SQLite it takes no write lock).

        On PostgreSQL it runs in autocommit: each read is one statement (READ COMMITTED gives every
        statement its own snapshot anyway), so a BEGIN and a ROLLBACK round trip per read buy nothing.
        """
        with self.engine.connect() as conn:
            if self.postgres:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                yield conn.execution_options(**{READ_ONLY: True})

    # ---- time -------------------------------------------------------------------------------
    def _now(self) -> sa.ColumnElement:
        """The database clock on PostgreSQL (shared by all machines), the local clock on SQLite."""
        if self.postgres:
            return sa.func.now(type_=UTCDateTime())
        return sa.literal(utcnow(), UTCDateTime())

    def _later(self, seconds: float) -> sa.ColumnElement:
        if self.postgres:
            return sa.func.now(type_=UTCDateTime()) + sa.literal(timedelta(seconds=seconds), sa.Interval())
        return sa.literal(utcnow() + timedelta(seconds=seconds), UTCDateTime())

    def _key(self, job: Job) -> sa.ColumnElement:
        return sa.and_(self.t.c.tag == job.tag, self.t.c.request_id == job.request_id)

    def _notify(self, conn: sa.Connection) -> None:
        if self.postgres:
            conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, self.t.name)))

    # ---- submit -----------------------------------------------------------------------------
    def submit(
        self,
        dataset: str,
        request_data: dict,
        *,
        tag: str,
        channel: str = SYSTEM_CHANNEL,
        requested_by: str = "",
        encryption_key: str | None = None,
        day: date | None = None,
    ) -> tuple[Job, bool]:
        """Queue a request, or return today's identical one; returns (job, whether it was (re)queued).

        A new request is inserted SUBMITTED. A FAILED one is reset to SUBMITTED with its attempts,
        error, links and finished batches cleared and the new request data and key. Any other status is
        returned unchanged (a new request data or key is ignored, as in Sunbird).
        """
        check_value("datasetConfig", request_data)
        check_request(dataset, request_data, encryption_key)
        if not tag or not channel:
            raise BadInput("the request needs a tag and a channel")
        check_tag(tag)
        check_value("channel", channel)
        check_value("requestedBy", requested_by)
        if encryption_key is not None:
            check_value("encryptionKey", encryption_key)
        full_tag = f"{tag}:{channel}"
        if len(full_tag) > 100 or len(channel) > 50 or len(requested_by) > 50:
            raise BadInput(
                "tag (with channel) must be at most 100 characters; channel and requester at most 50"
            )
        if encryption_key is not None and len(encryption_key) > 500:
            raise BadInput("the encryption key must be at most 500 characters")
        dataset_type = request_data.get("type") if isinstance(request_data.get("type"), str) else None
        rid = request_id(dataset, tag, requested_by, channel, day or today(self.timezone), dataset_type)
        existing = self.get(rid, full_tag)
        if existing is not None and existing.status.upper() != FAILED:
            return existing, False  # today's identical request, unchanged: no write needed
        values = {
            "job_id": dataset,
            "status": SUBMITTED,
            "request_data": request_data,
            "requested_by": requested_by,
            "requested_channel": channel,
            "dt_job_submitted": utcnow(),
            "encryption_key": encryption_key,
            "iteration": 0,
            "attempts": 0,
        }
        insert = self._upsert(self.t).values(
            tag=full_tag, request_id=rid, updated_at=utcnow(), processed_batches="[]", **values
        )
        reset = {
            **values,
            "download_urls": None,
            "err_message": None,
            "dt_job_completed": None,
            "dt_file_created": None,
            "execution_time": None,
            "processed_batches": "[]",
            "lease_owner": None,
            "lease_expires_at": None,
            "next_attempt_at": None,
            "dt_job_started": None,
            "progress": None,
            "phase": None,
            "updated_at": utcnow(),
        }
        with self.engine.begin() as conn:
            inserted = insert.on_conflict_do_nothing(index_elements=["tag", "request_id"]).returning(
                self.t.c.tag
            )
            queued = conn.execute(inserted).first() is not None
            if not queued:
                where = sa.and_(
                    self.t.c.tag == full_tag,
                    self.t.c.request_id == rid,
                    sa.func.upper(self.t.c.status) == FAILED,
                )
                queued = conn.execute(sa.update(self.t).where(where).values(**reset)).rowcount == 1
            if queued:
                self._notify(conn)
            row = (
                conn.execute(sa.select(self.t).where(self.t.c.tag == full_tag, self.t.c.request_id == rid))
                .mappings()
                .one()
            )
        return Job.from_row(row), queued

    # ---- reads ------------------------------------------------------------------------------
    def get(self, request_id: str, tag: str | None = None) -> Job | None:
        """A job by request id (and full tag when given)."""
        if tag is None:
            query, params = self._get_by_id, {"request_id": request_id}
        else:
            query, params = self._get_by_key, {"request_id": request_id, "tag": tag}

        def read() -> Job | None:
            with self._reading() as conn:
                row = conn.execute(query, params).mappings().first()
            return Job.from_row(row) if row else None

        job, shared = self._reads.run((request_id, tag), read)
        return copy.copy(job) if shared and job is not None else job

    def list(self, tag: str, *, channel: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs of a tag, newest first: `tag:channel` exactly, or the client tag under every channel."""
        if channel is not None:
            where = self.t.c.tag == f"{tag}:{channel}"
        else:
            where = sa.or_(self.t.c.tag == tag, self.t.c.tag.startswith(f"{tag}:", autoescape=True))
        query = sa.select(self.t).where(where).order_by(self.t.c.dt_job_submitted.desc()).limit(limit)
        with self._reading() as conn:
            return [Job.from_row(row) for row in conn.execute(query).mappings()]

    def search(
        self,
        *,
        dataset: str | None = None,
        channel: str | None = None,
        status: str | None = None,
        requested_date: date | None = None,
        limit: int = 10,
    ) -> tuple[int, builtins.list[Job]]:
        """Sunbird's request search: (total count, newest jobs) matching every given filter."""
        conditions = []
        if dataset is not None:
            conditions.append(self.t.c.job_id == dataset)
        if channel is not None:
            conditions.append(self.t.c.requested_channel == channel)
        if status is not None:
            conditions.append(self.t.c.status == status)
        if requested_date is not None:
            if not MIN_DATE <= requested_date <= MAX_DATE:
                return 0, []  # no job was submitted on such a day (and the bounds would overflow)
            start = datetime.combine(requested_date, datetime.min.time(), ZoneInfo(self.timezone))
            conditions.append(self.t.c.dt_job_submitted >= start)
            conditions.append(self.t.c.dt_job_submitted < start + timedelta(days=1))
        where = sa.and_(sa.true(), *conditions)
        with self._reading() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(self.t).where(where)).scalar_one()
            rows = conn.execute(
                sa.select(self.t).where(where).order_by(self.t.c.dt_job_submitted.desc()).limit(limit)
            ).mappings()
            return int(total), [Job.from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Jobs per status (for metrics and the bench)."""
        query = sa.select(self.t.c.status, sa.func.count()).group_by(self.t.c.status)
        with self._reading() as conn:
            return {status: int(n) for status, n in conn.execute(query)}

    # ---- claiming ---------------------------------------------------------------------------
    def _due(self, max_attempts: int) -> sa.ColumnElement:
        now = self._now()
        attempts = sa.func.coalesce(self.t.c.attempts, 0)
        return sa.and_(
            self.t.c.job_id.in_(DATASETS),
            attempts < max_attempts,
            sa.or_(
                sa.and_(
                    self.t.c.status == SUBMITTED,
                    sa.or_(self.t.c.next_attempt_at.is_(None), self.t.c.next_attempt_at <= now),
                ),
                sa.and_(
                    self.t.c.status == PROCESSING,
                    self.t.c.lease_expires_at.is_not(None),
                    self.t.c.lease_expires_at <= now,
                ),
            ),
        )

    def claim(self, owner: str, *, lease_seconds: float, max_attempts: int) -> Job | None:
        """Take the next due job (fairly across channels) under a lease, or None when nothing is due.

        PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers never pick the same row.
        SQLite: the transaction holds the database write lock (`BEGIN IMMEDIATE`).
        """
        channel = sa.func.coalesce(self.t.c.requested_channel, "")
        pick = (
            sa.select(self.t.c.tag, self.t.c.request_id, channel.label("channel"))
            .select_from(self.t.outerjoin(self.turn, self.turn.c.channel == channel))
            .where(self._due(max_attempts))
            .order_by(
                self.turn.c.last_claimed_at.asc().nulls_first(),
                self.t.c.dt_job_submitted.asc().nulls_first(),
                self.t.c.request_id,
            )
            .limit(1)
        )
        if self.postgres:
            pick = pick.with_for_update(skip_locked=True, of=self.t)
        elif self.due_count(max_attempts) == 0:
            return None  # idle polling must not take SQLite's write lock
        now = self._now()
        with self.engine.begin() as conn:
            chosen = conn.execute(pick).first()
            if chosen is None:
                return None
            row = (
                conn.execute(
                    sa.update(self.t)
                    .where(self.t.c.tag == chosen.tag, self.t.c.request_id == chosen.request_id)
                    .values(
                        status=PROCESSING,
                        lease_owner=owner,
                        lease_expires_at=self._later(lease_seconds),
                        attempts=sa.func.coalesce(self.t.c.attempts, 0) + 1,
                        # taking over an expired lease: the previous run died, a failed run for Sunbird
                        iteration=sa.func.coalesce(self.t.c.iteration, 0)
                        + sa.case((self.t.c.status == PROCESSING, 1), else_=0),
                        dt_job_started=now,
                        updated_at=now,
                        next_attempt_at=None,
                        progress=0,
                        phase="starting",
                    )
                    .returning(*self.t.c)
                )
                .mappings()
                .one()
            )
            upsert = self._upsert(self.turn).values(channel=chosen.channel, last_claimed_at=now)
            conn.execute(
                upsert.on_conflict_do_update(index_elements=["channel"], set_={"last_claimed_at": now})
            )
        return Job.from_row(row)

    def due_count(self, max_attempts: int) -> int:
        """How many jobs a worker could claim now (a cheap check before taking the write lock)."""
        with self._reading() as conn:
            query = sa.select(sa.func.count()).select_from(self.t).where(self._due(max_attempts))
            return int(conn.execute(query).scalar_one())

    def reap(self, max_attempts: int) -> int:
        """FAIL jobs whose last allowed attempt died with its worker (lease expired, no attempts left)."""
        now = self._now()
        where = sa.and_(
            self.t.c.job_id.in_(DATASETS),
            self.t.c.status == PROCESSING,
            self.t.c.lease_expires_at.is_not(None),
            self.t.c.lease_expires_at <= now,
            sa.func.coalesce(self.t.c.attempts, 0) >= max_attempts,
        )
        message = f"The report stopped unexpectedly on each of its {max_attempts} attempts."
        with self.engine.begin() as conn:
            return conn.execute(
                sa.update(self.t)
                .where(where)
                .values(
                    status=FAILED,
                    err_message=message,
                    iteration=_failed_run(self.t),
                    dt_job_completed=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    phase="failed",
                    encryption_key=None,
                )
            ).rowcount

    # ---- writes by the lease holder --------------------------------------------------------
    def _owned(self, job: Job, owner: str) -> sa.ColumnElement:
        """The job is still `owner`'s: its lease holder, PROCESSING, and the lease not yet run out."""
        return sa.and_(
            self._key(job),
            self.t.c.lease_owner == owner,
            self.t.c.status == PROCESSING,
            self.t.c.lease_expires_at > self._now(),
        )

    def _update_owned(self, job: Job, owner: str, **values: Any) -> bool:
        """Apply `values` only while `owner` holds the job's lease; False when the lease was lost."""
        with self.engine.begin() as conn:
            return (
                conn.execute(sa.update(self.t).where(self._owned(job, owner)).values(**values)).rowcount == 1
            )

    def renew(self, job: Job, owner: str, *, lease_seconds: float, progress: int, phase: str) -> bool:
        """Extend the lease and record progress; False when the lease was lost to another worker."""
        return self._update_owned(
            job,
            owner,
            lease_expires_at=self._later(lease_seconds),
            progress=progress,
            phase=phase[:200],
            updated_at=self._now(),
        )

    def record_batches(self, job: Job, owner: str, processed: Sequence[dict]) -> bool:
        """Save the finished batches so a later attempt resumes after them."""
        return self._update_owned(
            job,
            owner,
            processed_batches=json.dumps(list(processed)),
            download_urls=[b["filePath"] for b in processed],
            updated_at=self._now(),
        )

    def finish(
        self,
        job: Job,
        owner: str,
        *,
        status: str,
        processed: Sequence[dict],
        execution_ms: int,
        message: str = "",
    ) -> bool:
        """End the job as SUCCESS or FAILED (links of finished batches are kept either way).

        The zip password (`encryption_key`) is cleared: the final state needs it no more, and a
        resubmission brings it again.
        """
        now = self._now()
        values: dict[str, Any] = {
            "status": status,
            "encryption_key": None,
            "processed_batches": json.dumps(list(processed)),
            "download_urls": [b["filePath"] for b in processed],
            "dt_job_completed": now,
            "execution_time": execution_ms,
            "err_message": abbreviate(message),
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
            "progress": 100 if status == SUCCESS else None,
            "phase": "done" if status == SUCCESS else "failed",
        }
        if status != SUCCESS:
            values["iteration"] = _failed_run(self.t)
        return self._update_owned(job, owner, **values)

    def retry_later(
        self, job: Job, owner: str, *, delay_seconds: float, processed: Sequence[dict], message: str
    ) -> bool:
        """Put the job back as SUBMITTED after a transient failure; it becomes due after the back-off."""
        return self._update_owned(
            job,
            owner,
            status=SUBMITTED,
            processed_batches=json.dumps(list(processed)),
            download_urls=[b["filePath"] for b in processed],
            err_message=abbreviate(message),
            iteration=_failed_run(self.t),
            next_attempt_at=self._later(delay_seconds),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=self._now(),
            phase="waiting to retry",
        )


def _failed_run(table: sa.Table) -> sa.ColumnElement:
    """`iteration` after one more failed run (Sunbird's markRequestAsFailed)."""
    return sa.func.coalesce(table.c.iteration, 0) + 1
