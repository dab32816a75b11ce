"""The dashboard's tables, beside the job table: telemetry events, file downloads and sign-in sessions.

Telemetry events are kept whole (the JSON as sent) with the fields the download ratio reads pulled out
into columns; `mid` is the primary key, so a client that sends an event twice stores it once. A file
download is its own row, so clicks on "Download File" and files actually fetched are counted apart.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from exhaust.jobs.db import UTCDateTime, is_postgres, utcnow


def _tables(metadata: sa.MetaData, prefix: str) -> tuple[sa.Table, sa.Table, sa.Table]:
    events = sa.Table(
        f"{prefix}telemetry_event",
        metadata,
        sa.Column("mid", sa.String(100), primary_key=True),
        sa.Column("eid", sa.String(32), nullable=False),
        sa.Column("ets", sa.BigInteger, nullable=False),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("env", sa.String(100)),
        sa.Column("actor_id", sa.String(100)),
        sa.Column("edata_type", sa.String(100)),
        sa.Column("edata_id", sa.String(100)),
        sa.Column("object_id", sa.String(100)),
        sa.Column("object_type", sa.String(100)),
        sa.Column("course_id", sa.String(100)),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Index(f"ix_{prefix}telemetry_event_click", "edata_id", "channel", "event_time"),
    )
    downloads = sa.Table(
        f"{prefix}download_event",
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("downloaded_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("course_id", sa.String(100)),
        sa.Column("batch_id", sa.String(100)),
        sa.Column("dataset", sa.String(50)),
        sa.Column("request_id", sa.String(50)),
        sa.Column("file_key", sa.String(500), nullable=False),
        sa.Index(f"ix_{prefix}download_event_time", "channel", "downloaded_at"),
    )
    sessions = sa.Table(
        f"{prefix}dashboard_session",
        metadata,
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    return events, downloads, sessions


@dataclass(frozen=True)
class EventRow:
    """A validated telemetry event, ready to store."""

    mid: str
    eid: str
    ets: int
    event_time: datetime
    channel: str
    env: str | None
    actor_id: str | None
    edata_type: str | None
    edata_id: str | None
    object_id: str | None
    object_type: str | None
    course_id: str | None
    event: dict


@dataclass(frozen=True)
class Download:
    """One report file fetched through a link, with the course and channel it belongs to."""

    channel: str
    course_id: str | None
    batch_id: str | None
    dataset: str | None
    request_id: str | None
    file_key: str


class DashboardStore:
    """Reads and writes the dashboard's tables in the job store's database."""

    def __init__(self, engine: Engine, prefix: str = "") -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        self.events, self.downloads, self.sessions = _tables(self.metadata, prefix)

    def ensure_tables(self) -> None:
        """Create missing tables (idempotent; one process at a time on PostgreSQL)."""
        inspector = sa.inspect(self.engine)
        if all(inspector.has_table(t.name) for t in self.metadata.sorted_tables):
            return
        with self.engine.begin() as conn:
            if is_postgres(self.engine):
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(zlib.crc32(b"exhaust:dashboard"))))
            self.metadata.create_all(conn, checkfirst=True)

    def _insert_ignoring_duplicates(self) -> sa.Insert:
        dialect = postgresql if is_postgres(self.engine) else sqlite
        return dialect.insert(self.events).on_conflict_do_nothing(index_elements=["mid"])

    def store_events(self, rows: Sequence[EventRow]) -> int:
        """Store events whose `mid` is new; returns how many were new (duplicates are skipped).

        On PostgreSQL the rows are COPYed into a temporary table and moved with one INSERT … ON CONFLICT
        DO NOTHING (10,000 events in well under a second); elsewhere one executemany does it.
        """
        if not rows:
            return 0
        received = utcnow()
        values = [
            {
                "mid": r.mid,
                "eid": r.eid,
                "ets": r.ets,
                "event_time": r.event_time,
                "channel": r.channel,
                "env": r.env,
                "actor_id": r.actor_id,
                "edata_type": r.edata_type,
                "edata_id": r.edata_id,
                "object_id": r.object_id,
                "object_type": r.object_type,
                "course_id": r.course_id,
                "received_at": received,
                "event": json.dumps(r.event, ensure_ascii=False, separators=(",", ":")),
            }
            for r in rows
        ]
        with self.engine.begin() as conn:
            if is_postgres(self.engine):
                return self._copy_in(conn, values)
            statement = self._insert_ignoring_duplicates().returning(self.events.c.mid)
            return len(conn.execute(statement, values).all())

    def _copy_in(self, conn: sa.Connection, values: list[dict]) -> int:
        columns = [c.name for c in self.events.columns]
        names = ", ".join(columns)
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE incoming_events (LIKE {self.events.name} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY incoming_events ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row([row[c] for c in columns])
            cursor.execute(
                f"INSERT INTO {self.events.name} ({names}) SELECT {names} FROM incoming_events "
                "ON CONFLICT (mid) DO NOTHING"
            )
            return max(cursor.rowcount, 0)

    def record_download(self, download: Download) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(self.downloads).values(
                    id=uuid.uuid4().hex,
                    downloaded_at=utcnow(),
                    channel=download.channel,
                    course_id=download.course_id,
                    batch_id=download.batch_id,
                    dataset=download.dataset,
                    request_id=download.request_id,
                    file_key=download.file_key[:500],
                )
            )
