"""Write a report table as CSV by SPEC §3.6, the same bytes whichever engine computed it.

Values are formatted by type here, once: whole numbers without a decimal point (`7`, `6.5`), timestamps
in the profile's pattern (UTC), blanks for nulls, and a leading `'` on text that a spreadsheet would run
as a formula. DuckDB's CSV writer quotes only where needed and doubles quotes (RFC 4180).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

BOM = b"\xef\xbb\xbf"
SUNBIRD_TIMESTAMP = "%Y-%m-%d %H:%M:%S:%g+0000"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cell(column: str, arrow_type: pa.DataType, timestamp_format: str) -> str:
    """SQL turning one typed column into its CSV text (NULL for blank)."""
    return _cell_sql(_quote_ident(column), arrow_type, timestamp_format)


def _cell_sql(c: str, arrow_type: pa.DataType, timestamp_format: str) -> str:
    """SQL turning the typed SQL expression `c` into its CSV text (NULL for blank)."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        starts = "('=', '+', '-', '@', chr(9), chr(13))"
        return f"CASE WHEN left({c}, 1) IN {starts} THEN '''' || {c} ELSE NULLIF({c}, '') END"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        whole = f"isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 1e15"
        return f"CASE WHEN {whole} THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
    if pa.types.is_timestamp(arrow_type):
        pattern = timestamp_format.replace("'", "''")
        if arrow_type.tz is not None:  # naive UTC first: never the session's time zone
            c = f"timezone('UTC', {c})"
        return f"strftime({c}, '{pattern}')"
    if pa.types.is_boolean(arrow_type):
        return f"CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END"
    return f"CAST({c} AS VARCHAR)"


def _utc_naive(table: pa.Table) -> pa.Table:
    """Timestamps as naive UTC, so formatting never depends on a session time zone."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms"))
        elif pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(column)
    return pa.table(columns, names=[f"c{i}" for i in range(table.num_columns)])


def write_csv(
    table: pa.Table,
    path: Path,
    headers: Sequence[str],
    *,
    timestamp_format: str = SUNBIRD_TIMESTAMP,
    bom: bool = False,
) -> None:
    """Write `table` (rows already in report order) to `path` atomically, with `headers` as the header row.

    The file appears under its name only when complete: it is written beside it under a temporary
    name and renamed.
    """
    write_csv_parts([table], path, headers, timestamp_format=timestamp_format, bom=bom)


def write_csv_parts(
    tables: Iterable[pa.Table],
    path: Path,
    headers: Sequence[str],
    *,
    timestamp_format: str = SUNBIRD_TIMESTAMP,
    bom: bool = False,
) -> int:
    """Write tables one after the other as one CSV file (one header), atomically; returns the rows.

    `tables` may be a generator, so a report too large for memory is written part by part.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    piece = temporary.with_name(temporary.name + ".piece")
    rows = 0
    try:
        with temporary.open("wb") as out:
            if bom:
                out.write(BOM)
            for index, table in enumerate(tables):
                _copy_csv(table, piece, headers, header=index == 0, timestamp_format=timestamp_format)
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 22)
                rows += table.num_rows
            if out.tell() <= len(BOM) * bom:  # no table at all: the header alone
                out.write((",".join(_header_cell(h) for h in headers) + "\n").encode("utf-8"))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        piece.unlink(missing_ok=True)
    return rows


def copy_query_csv(
    con: duckdb.DuckDBPyConnection,
    query: str,
    cells: Sequence[tuple[str, pa.DataType]],
    path: Path,
    headers: Sequence[str],
    *,
    order_by: Sequence[str] = (),
    timestamp_format: str = SUNBIRD_TIMESTAMP,
    bom: bool = False,
) -> int:
    """Write a DuckDB query, sorted by `order_by`, as CSV in one `COPY`: the bytes of `write_csv_parts`.

    `cells` are (SQL expression over the query's columns, named `report.x`, its Arrow type), one per
    header; `order_by` are SQL sort terms over the same columns (in the COPY's own query: DuckDB does not
    keep a subquery's order through an outer SELECT). DuckDB
    formats and writes the rows itself, so they never pass through Python. Returns the rows.
    """
    if len(headers) != len(cells):
        raise ValueError("one header per column")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    piece = temporary.with_name(temporary.name + ".piece")
    selects = ", ".join(
        f"{_cell_sql(sql, kind, timestamp_format)} AS {_quote_ident(h)}"
        for (sql, kind), h in zip(cells, headers, strict=True)
    )
    target = str(piece if bom else temporary).replace("'", "''")
    sort = " ORDER BY " + ", ".join(order_by) if order_by else ""
    try:
        con.execute("SET preserve_insertion_order = true")  # the sorted rows are written in order
        try:
            counted = con.execute(
                f"COPY (SELECT {selects} FROM ({query}) AS report{sort}) TO '{target}' "
                "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\\n')"
            ).fetchone()
        finally:
            con.execute("SET preserve_insertion_order = false")
        rows = int(counted[0]) if counted else 0
        written = piece if bom else temporary
        if rows == 0:
            _ensure_header(written, headers)
        if bom:
            with temporary.open("wb") as out, piece.open("rb") as src:
                out.write(BOM)
                shutil.copyfileobj(src, out, length=1 << 22)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        piece.unlink(missing_ok=True)
    return rows


def _header_cell(header: str) -> str:
    return '"' + header.replace('"', '""') + '"' if any(c in header for c in ',"\n\r') else header


def _copy_csv(
    table: pa.Table, path: Path, headers: Sequence[str], *, header: bool, timestamp_format: str
) -> None:
    """One table as CSV at `path` (not atomic: the caller assembles and publishes)."""
    if len(headers) != table.num_columns:
        raise ValueError("one header per column")
    data = _utc_naive(table)
    selects = ", ".join(
        f"{_cell(f'c{i}', data.schema.field(i).type, timestamp_format)} AS {_quote_ident(h)}"
        for i, h in enumerate(headers)
    )
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("report", data)
        target = str(path).replace("'", "''")
        con.execute(
            f"COPY (SELECT {selects} FROM report) TO '{target}' "
            f"(FORMAT csv, HEADER {'true' if header else 'false'}, DELIMITER ',', QUOTE '\"', ESCAPE '\"', "
            "NEW_LINE '\\n')"
        )
    finally:
        con.close()
    if header and table.num_rows == 0:
        _ensure_header(path, headers)


def _ensure_header(path: Path, headers: Sequence[str]) -> None:
    """DuckDB writes the header even for no rows; make sure a header-only file exists either way."""
    if path.exists() and path.stat().st_size > 0:
        return
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(headers)
