"""Seed a PostgreSQL source: create Sunbird's tables in a schema and load them from another source.

Column types mirror Sunbird's Cassandra types (text, int, double, boolean, timestamp); maps, lists and
the `question` UDT become `json`, which keeps map keys in their stored order (`jsonb` would sort them and
the copy would no longer read back identical). Primary keys are Sunbird's; a key repeated in the source
keeps its first row, as the engine does. Everything is loaded in one transaction with COPY.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from exhaust.errors import BadInput, SourceDataError
from exhaust.sources.base import TableStore
from exhaust.sources.failures import SourceUnavailable
from exhaust.sources.postgres import connect
from exhaust.sources.schema import TABLES, TableSpec

# Secondary indexes on the columns reports filter by (SPEC §2: everything is read per batch).
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "user_enrolments": (("batchid",),),
    "user_activity_agg": (("context_id",),),
    "assessment_aggregator": (("batch_id", "course_id"),),
    "user_consent": (("object_id", "consumer_id"),),
}
COPY_CHUNK = 5_000


def column_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL type of a logical column."""
    if pa.types.is_string(arrow_type):
        return "text"
    if pa.types.is_int32(arrow_type):
        return "integer"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz"
    return "json"


def table_ddl(schema: str, spec: TableSpec) -> list[sql.Composed]:
    """CREATE TABLE and CREATE INDEX statements for one logical table."""
    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(field.name),
            sql.SQL(column_type(field.type)),
            sql.SQL(" NOT NULL" if field.name in spec.keys else ""),
        )
        for field in spec.schema
    ]
    columns.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, spec.keys))))
    statements = [
        sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} ({})").format(
            sql.Identifier(schema), sql.Identifier(spec.name), sql.SQL(", ").join(columns)
        )
    ]
    for index_columns in INDEXES.get(spec.name, ()):
        name = f"{spec.name}_{'_'.join(index_columns)}_idx"
        statements.append(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} ({})").format(
                sql.Identifier(name),
                sql.Identifier(schema),
                sql.Identifier(spec.name),
                sql.SQL(", ").join(map(sql.Identifier, index_columns)),
            )
        )
    return statements


def create_tables(conn: psycopg.Connection, schema: str, replace: bool = False) -> None:
    """Create the schema and every logical table in it (dropping existing ones when `replace`)."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    for spec in TABLES.values():
        if replace:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(spec.name)
                )
            )
        for statement in table_ddl(schema, spec):
            conn.execute(statement)


def first_rows(table: pa.Table, spec: TableSpec) -> tuple[pa.Table, int]:
    """`table` with one row per primary key (the first) and how many repeats were dropped."""
    for key in spec.keys:
        nulls = table.column(key).null_count
        if nulls:
            raise SourceDataError(
                f"table {spec.name} has {nulls} row(s) without {key}, which is part of its key"
            )
    if table.num_rows == 0:
        return table, 0
    indexed = table.select(list(spec.keys)).append_column(
        "__row", pa.array(range(table.num_rows), pa.int64())
    )
    first = (
        indexed.group_by(list(spec.keys), use_threads=False).aggregate([("__row", "min")]).column("__row_min")
    )
    kept = table.take(pc.take(first, pc.sort_indices(first)))
    return kept, table.num_rows - kept.num_rows


def _jsonable(value: Any, arrow_type: pa.DataType) -> object:
    """An Arrow Python value as plain JSON data (maps as objects, timestamps as ISO text)."""
    if value is None:
        return None
    if pa.types.is_map(arrow_type):
        return {k: _jsonable(v, arrow_type.item_type) for k, v in value}
    if pa.types.is_list(arrow_type):
        return [_jsonable(v, arrow_type.value_type) for v in value]
    if pa.types.is_struct(arrow_type):
        return {f.name: _jsonable(value.get(f.name), f.type) for f in arrow_type}
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return value


def _rows(table: pa.Table) -> Iterable[tuple]:
    nested = [
        not (
            pa.types.is_string(f.type)
            or pa.types.is_integer(f.type)
            or pa.types.is_floating(f.type)
            or pa.types.is_boolean(f.type)
            or pa.types.is_timestamp(f.type)
        )
        for f in table.schema
    ]
    types = [f.type for f in table.schema]
    for batch in table.to_batches(max_chunksize=COPY_CHUNK):
        columns = [column.to_pylist() for column in batch.columns]
        for values in zip(*columns, strict=True):
            yield tuple(
                json.dumps(_jsonable(v, t), ensure_ascii=False, allow_nan=False) if n and v is not None else v
                for v, t, n in zip(values, types, nested, strict=True)
            )


def load_table(conn: psycopg.Connection, schema: str, spec: TableSpec, table: pa.Table) -> int:
    """COPY `table` (logical schema) into `schema.spec.name`; returns the rows loaded."""
    columns = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        sql.Identifier(schema), sql.Identifier(spec.name), columns
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in _rows(table.select(spec.columns)):
            copy.write_row(row)
    return table.num_rows


def copy_tables(
    source: TableStore, url: str, schema: str, *, replace: bool = False, tables: Sequence[str] | None = None
) -> dict[str, tuple[int, int]]:
    """Create the tables in `schema` and load every logical table of `source` into them.

    Returns table -> (rows loaded, repeated keys dropped). Without `replace`, a table that already holds
    rows is an error, so a second copy never mixes two data sets.
    """
    names = list(tables) if tables is not None else list(TABLES)
    counts: dict[str, tuple[int, int]] = {}
    with connect(url) as conn:
        try:
            with conn.transaction():
                create_tables(conn, schema, replace=replace)
                for name in names:
                    spec = TABLES[name]
                    if not replace and _has_rows(conn, schema, name):
                        raise BadInput(
                            f"table {schema}.{name} already has rows; use --replace to drop and reload it"
                        )
                    data, dropped = first_rows(source.read(name, {}), spec)
                    counts[name] = (load_table(conn, schema, spec, data), dropped)
        except psycopg.OperationalError as exc:
            raise SourceUnavailable(f"loading PostgreSQL schema {schema} failed: {exc}") from None
        except psycopg.Error as exc:
            raise SourceDataError(
                f"loading PostgreSQL schema {schema} failed: {str(exc).splitlines()[0]}"
            ) from None
    return counts


def _has_rows(conn: psycopg.Connection, schema: str, name: str) -> bool:
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{})").format(
        sql.Identifier(schema), sql.Identifier(name)
    )
    found = conn.execute(query).fetchone()
    return bool(found and found[0])
