"""Scans: how a source hands a logical table to the engine without loading it into Python.

A scan is one of two things:

- `ParquetScan`: a file the engine reads itself (DuckDB's `read_parquet`, Spark's `spark.read.parquet`),
  with the batch filter and the column selection pushed down to the reader. Used when the file already
  has the logical types, so no conversion in Python is needed; the path must be one every engine worker
  sees (a shared folder, an object store URL).
- a `pyarrow.RecordBatchReader`: record batches streamed from a database or a service, which the engine
  consumes batch by batch (DuckDB copies them into its own storage, which spills to disk under its
  memory limit), so the rows held in Python at once are one batch, never the table.

Scans carry logical column names and types (sources/schema.py). The `Scannable` protocol is what a table
store implements to offer scans; a store without it is scanned through `TableStore.read`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, runtime_checkable

import pyarrow as pa

from exhaust.sources.schema import TABLES

Filters = Mapping[str, Sequence[str]]
BATCH_ROWS = 65_536  # rows per streamed record batch


@dataclass(frozen=True)
class ParquetScan:
    """A Parquet file the engine reads itself: logical column -> stored column, and the filters as
    stored column -> allowed values (the stored types equal the logical ones)."""

    table: str
    path: str
    columns: dict[str, str]
    filters: dict[str, tuple[str, ...]]
    #: The stored columns read or filtered on, as the file has them (lets an engine skip inferring it).
    stored_schema: pa.Schema | None = None

    @property
    def schema(self) -> pa.Schema:
        spec = TABLES[self.table].schema
        return pa.schema([spec.field(name) for name in self.columns])


Scan: TypeAlias = ParquetScan | pa.RecordBatchReader


@runtime_checkable
class Scannable(Protocol):
    """A table store able to hand the engine scans (files, PostgreSQL)."""

    def scan(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> Scan:
        """Rows of `table` matching every filter (column -> allowed values), `columns` only when given."""
        ...


def table_reader(table: pa.Table, rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
    """An in-memory table as a stream of record batches (for stores that can only read whole tables)."""
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=rows))


def batches_reader(
    schema: pa.Schema, parts: Iterable[pa.Table] | Callable[[], Iterator[pa.Table]]
) -> pa.RecordBatchReader:
    """A reader over `parts` produced lazily (e.g. one per database fetch or Redis round trip).

    The first part is fetched here, before the engine reads: a store that is down raises its own error
    (a transient SourceUnavailable, retried by the workers) instead of one wrapped by the engine.
    """
    produced = iter(parts() if callable(parts) else parts)
    first = next(produced, None)

    def batches() -> Iterator[pa.RecordBatch]:
        for part in itertools.chain([] if first is None else [first], produced):
            yield from part.cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


ROW_COLUMN = "src_row"  # each scanned row's position in its source, so "the first row of a key" is defined


def with_row_numbers(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """`reader` with a `src_row` column counting rows from 0 in stream order."""
    schema = reader.schema.append(pa.field(ROW_COLUMN, pa.int64()))

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for batch in reader:
            numbers = pa.array(range(offset, offset + batch.num_rows), pa.int64())
            offset += batch.num_rows
            yield pa.RecordBatch.from_arrays([*batch.columns, numbers], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())
