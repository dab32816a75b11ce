"""The files adapter: a folder with one `<table>.parquet`, `.csv` or `.jsonl` per logical table.

JSONL values may be native JSON or JSON text; CSV cells holding maps, lists or the hierarchy are JSON
text. An empty file is an empty table. Text files are parsed once, on first use, and filtered in Arrow;
Parquet files are read per request, with the filters and columns pushed down to the reader.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from exhaust.errors import BadInput, MissingTable, SourceDataError
from exhaust.sources.base import Filters
from exhaust.sources.coerce import ALIASES, check_columns, conform, rows_to_table
from exhaust.sources.memory import MemoryTables, filter_table
from exhaust.sources.scan import ParquetScan, Scan, table_reader
from exhaust.sources.schema import TABLES, empty_table

SUFFIXES = (".parquet", ".jsonl", ".csv")
_MAX_CELL = 1 << 30


class FileTables(MemoryTables):
    #: The engine may read these files itself (a whole users file is scanned and joined by the engine).
    engine_reads_files = True
    """Logical tables read lazily from files in one folder."""

    def __init__(self, folder: Path | str) -> None:
        super().__init__()
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise BadInput(f"source folder {self.folder} does not exist")
        missing = [name for name, spec in TABLES.items() if spec.required and self.path(name) is None]
        if missing:
            raise MissingTable(
                f"source folder {self.folder} has no {', '.join(missing)} table "
                f"(expected a file named <table>.parquet, .jsonl or .csv)"
            )

    def path(self, table: str) -> Path | None:
        """The file holding `table`, if any; two files for one table are an error (which is meant?)."""
        found = [self.folder / f"{table}{s}" for s in SUFFIXES if (self.folder / f"{table}{s}").is_file()]
        if len(found) > 1:
            raise SourceDataError(
                f"source folder {self.folder} has {len(found)} files for table {table} "
                f"({', '.join(p.name for p in found)}): keep one"
            )
        return found[0] if found else None

    def load(self, table: str) -> pa.Table:
        if table not in self._tables:
            path = self.path(table)
            self._tables[table] = empty_table(table) if path is None else read_table_file(path, table)
        return self._tables[table]

    def read(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> pa.Table:
        """Parquet is read with predicate and column pushdown each time; text formats are parsed once."""
        path = self.path(table)
        if path is None or path.suffix != ".parquet" or path.stat().st_size == 0:
            return super().read(table, filters, columns)
        spec = TABLES[table]
        wanted = list(columns) if columns is not None else spec.columns
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceDataError(f"{path.name}: not a readable Parquet file ({exc})") from None
        stored = _stored_names(table, set(schema.names))
        for column, values in filters.items():
            if isinstance(values, str):
                raise TypeError(f"filter on {column} needs a list of values, not the string {values!r}")
            if column not in stored:  # absent, so null in every row: nothing matches (unless it is required)
                check_columns(table, schema.names, path.name)
                return empty_table(table).select(wanted)
        expression, later = _pushdown(schema, stored, filters)
        projection = [stored[c] for c in dict.fromkeys([*wanted, *filters]) if c in stored]
        try:
            try:
                data = pq.read_table(path, columns=projection, filters=expression)
            except (pa.ArrowTypeError, pa.ArrowNotImplementedError):
                # The stored type does not take the filter (e.g. dictionary-encoded text): filter after reading.
                data, later = pq.read_table(path, columns=projection), dict(filters)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceDataError(f"{path.name}: not a readable Parquet file ({exc})") from None
        conformed = conform(data, table, path.name)
        check_columns(table, schema.names, path.name)
        return filter_table(conformed, later, wanted)

    def scan(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> Scan:
        """A Parquet file whose stored types are the logical ones is read by the engine itself; anything
        else (text formats, older types needing conversion) is conformed here and streamed."""
        wanted = list(columns) if columns is not None else TABLES[table].columns
        path = self.path(table)
        plan = _parquet_plan(path, table, wanted, filters) if path is not None else None
        if plan is not None:
            return plan
        return table_reader(self.read(table, filters, wanted))


def _parquet_plan(path: Path, table: str, wanted: list[str], filters: Filters) -> ParquetScan | None:
    """A ParquetScan of `path` when every needed column is stored with exactly its logical type."""
    if path.suffix != ".parquet" or path.stat().st_size == 0:
        return None
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError):
        return None  # the reading path reports the error with its file name
    stored = _stored_names(table, set(schema.names))
    logical = TABLES[table].schema
    needed = dict.fromkeys([*wanted, *filters])
    for column in needed:
        if column not in stored or not schema.field(stored[column]).type.equals(logical.field(column).type):
            return None
    return ParquetScan(
        table,
        str(path.resolve()),
        {c: stored[c] for c in wanted},
        {stored[c]: tuple(v) for c, v in filters.items()},
        pa.schema([schema.field(stored[c]) for c in needed]),
    )


def _pushdown(
    schema: pa.Schema, stored: dict[str, str], filters: Filters
) -> tuple[pc.Expression | None, dict]:
    """The filters Parquet can apply while reading, and those left for after conforming (other types)."""
    expression = None
    later: dict[str, list] = {}
    for column, values in filters.items():
        stored_type = schema.field(stored[column]).type
        if pa.types.is_dictionary(stored_type):
            stored_type = stored_type.value_type
        try:
            value_set = pa.array(list(values), type=stored_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            later[column] = list(values)  # e.g. numeric ids in the file, text ids in the filter
            continue
        term = pc.field(stored[column]).isin(value_set)
        expression = term if expression is None else expression & term
    return expression, later


def _stored_names(table: str, present: set[str]) -> dict[str, str]:
    """Logical column -> its name in the file: itself, or an older Sunbird name (see ALIASES)."""
    names = {c: c for c in TABLES[table].columns if c in present}
    for old, new in ALIASES.get(table, {}).items():
        if old in present and new not in names:
            names[new] = old
    return names


def read_table_file(path: Path, table: str) -> pa.Table:
    """Read one file into the logical schema of `table`."""
    if path.stat().st_size == 0:
        return empty_table(table)
    if path.suffix == ".parquet":
        try:
            data = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceDataError(f"{path.name}: not a readable Parquet file ({exc})") from None
        conformed = conform(data, table, path.name)
        check_columns(table, data.column_names, path.name)
        return conformed
    rows = _jsonl_rows(path, table) if path.suffix == ".jsonl" else _csv_rows(path, table)
    return rows_to_table(rows, table, path.name)


def _jsonl_rows(path: Path, table: str) -> Iterator[tuple[int, dict]]:
    seen: set[str] = set()
    with path.open("rb") as handle:
        for line_no, line in enumerate(_decoded_lines(handle, path), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.rstrip("\r\n"))  # so the error's character count is within the line
            except json.JSONDecodeError as exc:
                raise SourceDataError(
                    f"{path.name}, line {line_no}, character {exc.colno}: not valid JSON ({exc.msg})"
                ) from None
            except RecursionError:
                raise SourceDataError(
                    f"{path.name}, line {line_no}: JSON nested too deeply to read"
                ) from None
            if not isinstance(row, dict):
                raise SourceDataError(f"{path.name}, line {line_no}: expected a JSON object per line")
            seen.update(row)
            yield line_no, row
    if seen:  # a column no row names is missing from the file
        check_columns(table, seen, path.name)


def _csv_rows(path: Path, table: str) -> Iterator[tuple[int, dict]]:
    # A hierarchy cell easily passes the csv module's default 128 KiB field limit.
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
    with path.open("rb") as handle:
        reader = csv.reader(_decoded_lines(handle, path))
        try:
            header = [name.strip() for name in next(reader, [])]
            for cells in reader:
                if not cells:
                    continue  # a blank line
                if len(cells) != len(header):
                    _bad_width(path, reader.line_num, header, cells)
                yield (
                    reader.line_num,
                    {k: (v if v != "" else None) for k, v in zip(header, cells, strict=True)},
                )
        except csv.Error as exc:
            raise SourceDataError(f"{path.name}, line {reader.line_num}: not valid CSV ({exc})") from None
    if header:
        check_columns(table, header, path.name)


def _bad_width(path: Path, line: int, header: list[str], cells: list[str]) -> None:
    if len(cells) > len(header):
        raise SourceDataError(
            f"{path.name}, line {line}, column {len(header) + 1}: {len(cells)} cells but the header has "
            f"{len(header)} columns"
        )
    raise SourceDataError(
        f"{path.name}, line {line}, column {header[len(cells)]}: {len(cells)} cells but the header has "
        f"{len(header)} columns"
    )


def _decoded_lines(handle: BinaryIO, path: Path) -> Iterator[str]:
    """UTF-8 lines (a leading byte order mark dropped); undecodable bytes are an error naming the line."""
    for line_no, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceDataError(f"{path.name}, line {line_no}: not UTF-8 text") from None
        yield line.removeprefix("\ufeff") if line_no == 1 else line


def write_table_file(table: pa.Table, path: Path) -> None:
    """Write a logical table as Parquet (used by demo data and exports)."""
    pq.write_table(table, path, compression="zstd")
