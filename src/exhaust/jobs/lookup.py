"""One job by request id, read straight through the database driver, for `exhaust status`.

Importing SQLAlchemy is half of that command's start-up (docs/benchmarks.md), and the read is one
statement. Only the two URL forms the settings accept are read this way (a SQLite file, PostgreSQL
through psycopg); anything else, and any read the driver refuses (no such file or table, a server
down, a Sunbird table not yet migrated), raises `NotReadDirectly` so the caller goes through the job store, which creates or upgrades
the schema and words the error. The row becomes a `Job` through the same `Job.from_row`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from exhaust.jobs.job import Job

SQLITE, POSTGRES = "sqlite:///", "postgresql+psycopg://"


class NotReadDirectly(Exception):
    """The job was not read without the store: read it through `JobStore.get` instead."""


def read_job(url: str, table: str, request_id: str) -> Job | None:
    """The job `request_id` of `table` at `url` (as `database_url` gives it), or None when there is none."""
    quoted = '"' + table.replace('"', '""') + '"'
    if url.startswith(SQLITE) and "?" not in url and "%" not in url:
        row = _sqlite_row(
            url[len(SQLITE) :], f"SELECT * FROM {quoted} WHERE request_id = ? LIMIT 1", request_id
        )
    elif url.startswith(POSTGRES):
        conninfo = "postgresql://" + url[len(POSTGRES) :]
        row = _postgres_row(conninfo, f"SELECT * FROM {quoted} WHERE request_id = %s LIMIT 1", request_id)
    else:
        raise NotReadDirectly(url.split(":", 1)[0])
    try:
        return None if row is None else Job.from_row(row)
    except KeyError as exc:  # a Sunbird table the migrations have not yet given the queue's columns
        raise NotReadDirectly(f"no column {exc}") from exc


def _sqlite_row(path: str, query: str, request_id: str) -> dict[str, Any] | None:
    import sqlite3

    if path in ("", ":memory:"):
        raise NotReadDirectly("an in-memory SQLite store")
    try:
        # Read-only: a missing file is an error here (the store creates it), never an empty new one.
        with sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30) as connection:
            cursor = connection.execute(query, (request_id,))
            return _mapping(cursor.description, cursor.fetchone())
    except sqlite3.Error as exc:
        raise NotReadDirectly(type(exc).__name__) from exc


def _postgres_row(conninfo: str, query: str, request_id: str) -> dict[str, Any] | None:
    try:
        import psycopg
    except ImportError as exc:  # the `postgres` extra: the store names it
        raise NotReadDirectly("psycopg is not installed") from exc
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as connection:
            cursor = connection.execute(query.encode(), (request_id,))
            return _mapping(cursor.description, cursor.fetchone())
    except (psycopg.Error, ValueError) as exc:  # ValueError: options libpq does not know
        raise NotReadDirectly(type(exc).__name__) from exc


def _mapping(description: Any, row: Any) -> dict[str, Any] | None:
    return None if row is None else {column[0]: value for column, value in zip(description, row, strict=True)}
