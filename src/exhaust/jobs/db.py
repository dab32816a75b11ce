"""Database engines for the job store: SQLite by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import TypeDecorator

from exhaust.extras import require
from exhaust.jobs.job import as_utc, database_url

__all__ = ["READ_ONLY", "UTCDateTime", "database_url", "is_postgres", "make_engine", "utcnow"]

READ_ONLY = "exhaust_read_only"  # execution option: this transaction only reads
#: A pooled PostgreSQL connection idle this long is pinged before use; one in steady use is not.
PING_AFTER_IDLE_SECONDS = 2.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out: `timestamptz` on PostgreSQL, UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or not isinstance(value, datetime):
            return value
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return as_utc(value)


def make_engine(url: str) -> Engine:
    """An engine tuned for the queue: SQLite in WAL mode with write-locking transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        require("postgres", "a PostgreSQL job store")
    if parsed.get_backend_name() != "sqlite":
        engine = sa.create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)
        _ping_when_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so `BEGIN IMMEDIATE` below takes effect.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # A writing transaction takes the write lock up front, so a claim is a serialised
        # read-modify-write; reads (marked READ_ONLY) take none and never wait for writers (WAL).
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for connections idle for `PING_AFTER_IDLE_SECONDS` or more.

    A ping is a round trip per checkout, a fifth of a short API read's cost. A connection checked in
    moments ago is almost surely alive; if the server went away meanwhile, the failed statement is
    detected as a disconnect and SQLAlchemy discards the whole pool, as it would after a failed ping.
    """

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["exhaust_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("exhaust_idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and checks out another (a fresh one if all are stale).
            raise sa.exc.DisconnectionError(
                f"pooled connection failed its ping ({type(exc).__name__})"
            ) from exc


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
