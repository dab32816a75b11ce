"""The PostgreSQL adapter: Sunbird's logical tables in one schema of a PostgreSQL database.

Reads push the batch filters into SQL (`col = ANY(%s)`) and page through a server-side cursor, so only
the requested batches' rows leave the server. Tables made by `create_tables` mirror Sunbird's types
(text, integer, double precision, boolean, timestamptz) with maps, lists and the question UDT as `json`.
Tables made by other means are read too: columns are looked up in the catalog, Sunbird's older column
names are accepted, `jsonb` and array columns are turned into JSON text, and absent columns are null.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql

from exhaust.errors import MissingTable, SourceDataError
from exhaust.sources.base import Filters
from exhaust.sources.coerce import ALIASES, conform
from exhaust.sources.failures import SourceUnavailable, redact_url
from exhaust.sources.postgres_url import SCHEMES, is_postgres_url, parse_postgres_spec  # noqa: F401 - re-exported
from exhaust.sources.scan import batches_reader
from exhaust.sources.schema import TABLES, TableSpec, empty_table

CONNECT_TIMEOUT = 10
LOCK_TIMEOUT = 30.0  # seconds waiting for a lock (a table being reloaded) before the read fails
STATEMENT_TIMEOUT = 1800  # seconds: far above any per-batch read, so only a runaway query hits it
JSON_TYPES = {"json", "jsonb"}
TIME_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"}


def connect(url: str, lock_timeout: float = LOCK_TIMEOUT) -> psycopg.Connection:
    """A connection in UTC that gives up instead of hanging: on connecting, on a lock, on a runaway query."""
    options: dict[str, Any] = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT}
    try:
        conn = psycopg.connect(url, autocommit=True, **options)
    except psycopg.Error as exc:
        raise SourceUnavailable(
            f"cannot connect to PostgreSQL at {redact_url(url)}: {_first_line(exc)}"
        ) from None
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms")))
    conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{STATEMENT_TIMEOUT * 1000}ms")))
    return conn


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


@dataclass(frozen=True)
class _Column:
    name: str  # the column in the database
    data_type: str  # information_schema data_type


class PostgresTables:
    """`TableStore` over one PostgreSQL schema."""

    def __init__(
        self,
        url: str,
        schema: str = "public",
        *,
        fetch_size: int = 10_000,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.url = url
        self.schema = schema
        self.fetch_size = fetch_size
        self.lock_timeout = lock_timeout
        self._catalog: dict[str, dict[str, _Column] | None] = {}

    def read(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> pa.Table:
        """Rows of `table` matching `filters`, selected and paged in the database."""
        spec = TABLES[table]
        wanted = list(columns) if columns is not None else spec.columns
        with connect(self.url, self.lock_timeout) as conn:
            present = self._columns(conn, spec)
            if present is None:
                return empty_table(table).select(wanted)
            query, params = self._query(spec, present, filters, wanted)
            chunks = self._fetch(conn, query, params, table)
        if not chunks:
            return empty_table(table).select(wanted)
        return pa.concat_tables(chunks).select(wanted)

    def _columns(self, conn: psycopg.Connection, spec: TableSpec) -> dict[str, _Column] | None:
        if spec.name not in self._catalog:
            try:
                rows = conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s",
                    (self.schema, spec.name),
                ).fetchall()
            except psycopg.Error as exc:
                raise SourceUnavailable(
                    f"reading the PostgreSQL catalog failed: {_first_line(exc)}"
                ) from None
            if not rows and spec.required:
                raise MissingTable(f"PostgreSQL schema {self.schema} has no {spec.name} table")
            self._catalog[spec.name] = {name: _Column(name, kind) for name, kind in rows} if rows else None
        return self._catalog[spec.name]

    def _query(
        self, spec: TableSpec, present: dict[str, _Column], filters: Filters, wanted: list[str]
    ) -> tuple[sql.Composed, list]:
        selected = []
        for name in wanted:
            column = _resolve(spec.name, name, present)
            if column is not None:
                selected.append(
                    sql.SQL("{} AS {}").format(_expression(spec, name, column), sql.Identifier(name))
                )
        conditions, params = [], []
        for name, values in filters.items():
            column = _resolve(spec.name, name, present)
            if column is None:
                raise SourceDataError(f"PostgreSQL table {self.schema}.{spec.name} has no column {name}")
            conditions.append(sql.SQL("{} = ANY(%s::text[])").format(sql.Identifier(column.name)))
            params.append([str(value) for value in values])
        if not selected:
            selected = [sql.SQL("NULL AS {}").format(sql.Identifier("__none"))]
        query = sql.SQL("SELECT {} FROM {}.{}").format(
            sql.SQL(", ").join(selected), sql.Identifier(self.schema), sql.Identifier(spec.name)
        )
        if conditions:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
        return query, params

    def _fetch(
        self, conn: psycopg.Connection, query: sql.Composed, params: list, table: str
    ) -> list[pa.Table]:
        return list(self._chunks(conn, query, params, table))

    def _chunks(
        self, conn: psycopg.Connection, query: sql.Composed, params: list, table: str
    ) -> Iterator[pa.Table]:
        """The result in conformed chunks of `fetch_size` rows, fetched one at a time from the server."""
        origin = f"PostgreSQL {self.schema}.{table}"
        try:
            with conn.transaction(), conn.cursor(name="exhaust_read") as cursor:
                cursor.execute(query, params)
                names = None
                start = 0
                while rows := cursor.fetchmany(self.fetch_size):
                    names = names or [d.name for d in cursor.description or ()]
                    raw = pa.table({name: pa.array([row[i] for row in rows]) for i, name in enumerate(names)})
                    yield conform(raw, table, f"{origin} (result rows from {start + 1})")
                    start += len(rows)
        except psycopg.OperationalError as exc:
            raise SourceUnavailable(f"reading {origin} failed: {_first_line(exc)}") from None
        except psycopg.Error as exc:
            raise SourceDataError(f"reading {origin} failed: {_first_line(exc)}") from None
        except pa.ArrowException as exc:
            raise SourceDataError(f"{origin}: unexpected column values ({_first_line(exc)})") from None

    def scan(
        self, table: str, filters: Filters, columns: Sequence[str] | None = None
    ) -> pa.RecordBatchReader:
        """The same rows as `read`, streamed: at most `fetch_size` rows are held in Python at once."""
        spec = TABLES[table]
        wanted = list(columns) if columns is not None else spec.columns
        schema = pa.schema([spec.schema.field(name) for name in wanted])

        def chunks() -> Iterator[pa.Table]:
            with connect(self.url, self.lock_timeout) as conn:
                present = self._columns(conn, spec)
                if present is None:
                    return
                query, params = self._query(spec, present, filters, wanted)
                for chunk in self._chunks(conn, query, params, table):
                    yield chunk.select(wanted)

        return batches_reader(schema, chunks)


def _resolve(table: str, name: str, present: dict[str, _Column]) -> _Column | None:
    """The database column holding logical column `name` (or its older Sunbird name)."""
    if name in present:
        return present[name]
    for old, new in ALIASES.get(table, {}).items():
        if new == name and old in present:
            return present[old]
    return None


def _expression(spec: TableSpec, name: str, column: _Column) -> sql.Composable:
    """SQL turning the stored column into what `conform` reads for the logical column `name`."""
    target = spec.schema.field(name).type
    ident = sql.Identifier(column.name)
    kind = column.data_type
    nested = pa.types.is_map(target) or pa.types.is_list(target) or pa.types.is_struct(target)
    if kind in JSON_TYPES:
        return sql.SQL("{}::text").format(ident)
    if kind == "ARRAY":
        return sql.SQL("to_json({})::text").format(ident)
    if nested:
        return ident
    if pa.types.is_timestamp(target) and kind in TIME_TYPES:
        return sql.SQL("date_trunc('milliseconds', {})").format(ident)
    if pa.types.is_string(target) and kind in TIME_TYPES:
        # Sunbird's batch dates are timestamps in Cassandra and `yyyy-MM-dd` text in the logical model.
        return sql.SQL("to_char({}, 'YYYY-MM-DD')").format(ident)
    return ident
