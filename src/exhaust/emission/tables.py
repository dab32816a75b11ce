"""The cQube tables: one per data source (cQube's names and columns), `log_summary`, and the emission queue.

They live in their own SQLAlchemy metadata, created on first use (`ensure_tables`), in the job store's
database unless `EXHAUST_CQUBE_DB_URL` names another: cQube's dashboards and SQL read them by these
names, so they are not prefixed or migrated with the job table.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.emission.spec import DataSource, data_sources
from exhaust.jobs.db import UTCDateTime, database_url, make_engine

metadata = sa.MetaData()

_SQL_TYPES: dict[str, Any] = {
    "bigint": sa.BigInteger,
    "double": sa.Float,
    "date": sa.Date,
    "text": sa.Text,
}


def _data_source_table(source: DataSource) -> sa.Table:
    columns = [
        sa.Column(column.name, _SQL_TYPES[column.sql_type](), primary_key=column.name in source.keys)
        for column in source.columns
    ]
    columns += [
        sa.Column("created_on", UTCDateTime(), nullable=False),
        sa.Column("updated_on", UTCDateTime(), nullable=False),
    ]
    return sa.Table(source.table, metadata, *columns)


DATA_TABLES: dict[str, sa.Table] = {name: _data_source_table(s) for name, s in data_sources().items()}

#: cQube's per-file counters (research §4.2/§4.3), one row per ingested file, plus status and error file.
log_summary = sa.Table(
    "log_summary",
    metadata,
    sa.Column("ff_uuid", sa.String(64), primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("data_source", sa.String(100)),
    sa.Column("emission_key", sa.Text),
    sa.Column("input_key", sa.Text),
    sa.Column("total_records", sa.BigInteger, nullable=False, default=0),
    sa.Column("blank_lines", sa.BigInteger, nullable=False, default=0),
    sa.Column("duplicate_records", sa.BigInteger, nullable=False, default=0),
    sa.Column("datatype_mismatch", sa.BigInteger, nullable=False, default=0),
    sa.Column("records_with_null_value", sa.JSON, nullable=False, default=dict),
    sa.Column("count_of_null_rows", sa.BigInteger, nullable=False, default=0),
    sa.Column("processed_records", sa.BigInteger, nullable=False, default=0),
    sa.Column("status", sa.String(2), nullable=False),  # OK | KO
    sa.Column("reason", sa.Text),
    sa.Column("error_file", sa.Text),  # key in the output area
    sa.Column("process_start_time", UTCDateTime()),
    sa.Column("process_end_time", UTCDateTime()),
)

#: Emitted objects seen in the emission area and who holds them (the lease makes ingestion exactly-once).
emission_object = sa.Table(
    "emission_object",
    metadata,
    sa.Column("emission_key", sa.String(700), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),  # WAITING | CLAIMED | DONE
    sa.Column("rank", sa.Integer, nullable=False, default=0),  # emission order: masters first
    sa.Column("ff_uuid", sa.String(64), nullable=False),
    sa.Column("input_key", sa.Text, nullable=False),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_expires_at", UTCDateTime()),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("seen_at", UTCDateTime(), nullable=False),
    sa.Column("done_at", UTCDateTime()),
)

#: Emission API credentials, as Kong's jwt plugin keeps them: a key (the token's `iss`) and its secret.
emission_credential = sa.Table(
    "emission_credential",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("consumer", sa.String(200), nullable=False, index=True),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_ready: set[str] = set()


def cqube_db_url(settings: Any) -> str:
    """`EXHAUST_CQUBE_DB_URL`, else the job store's database."""
    url = getattr(settings, "cqube_db_url", "") or ""
    if url:
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url
    return database_url(settings)


def ensure_tables(engine: Engine) -> None:
    """Create the cQube tables that do not exist yet (idempotent; safe from several processes)."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _ready:
        return
    try:
        metadata.create_all(engine, checkfirst=True)
    except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
        metadata.create_all(engine, checkfirst=True)  # another process created them at the same moment
    _ready.add(key)


def open_cqube_engine(settings: Any) -> Engine:
    """The engine of the cQube tables (one per URL and process), the tables created on first use."""
    url = cqube_db_url(settings)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
    ensure_tables(engine)
    return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _ready.clear()
