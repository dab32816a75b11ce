"""Write a report table as CSV by SPEC §3.6, the same bytes whichever engine computed it.

Values are formatted by type here, once: whole numbers without a decimal point (`7`, `6.5`), timestamps
in the profile's pattern (UTC), blanks for nulls, and a leading `'` on text that a spreadsheet would run
as a formula. DuckDB's CSV writer quotes only where needed and doubles quotes (RFC 4180).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

BOM = b"\xef\xbb\xbf"
SUNBIRD_TIMESTAMP = "%Y-%m-%d %H:%M:%S:%g+0000"
FORMULA_START = r"^[=+\-@\t\r]"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cell(column: str, arrow_type: pa.DataType, timestamp_format: str) -> str:
    """SQL turning one typed column into its CSV text (NULL for blank)."""
    c = _quote_ident(column)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return f"CASE WHEN regexp_matches({c}, '{FORMULA_START}') THEN '''' || {c} ELSE NULLIF({c}, '') END"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        whole = f"isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 1e15"
        return f"CASE WHEN {whole} THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
    if pa.types.is_timestamp(arrow_type):
        pattern = timestamp_format.replace("'", "''")
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
    if len(headers) != table.num_columns:
        raise ValueError("one header per column")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    data = _utc_naive(table)
    selects = ", ".join(
        f"{_cell(f'c{i}', data.schema.field(i).type, timestamp_format)} AS {_quote_ident(header)}"
        for i, header in enumerate(headers)
    )
    con = duckdb.connect()
    try:
        con.register("report", data)
        target = str(temporary).replace("'", "''")
        con.execute(
            f"COPY (SELECT {selects} FROM report) TO '{target}' "
            "(FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\\n')"
        )
        if table.num_rows == 0:
            _ensure_header(temporary, headers)
        if bom:
            _prepend_bom(temporary)
        os.replace(temporary, path)
    finally:
        con.close()
        temporary.unlink(missing_ok=True)


def _ensure_header(path: Path, headers: Sequence[str]) -> None:
    """DuckDB writes the header even for no rows; make sure a header-only file exists either way."""
    if path.exists() and path.stat().st_size > 0:
        return
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(headers)


def _prepend_bom(path: Path) -> None:
    with_bom = path.with_name(path.name + ".bom")
    with with_bom.open("wb") as out, path.open("rb") as src:
        out.write(BOM)
        shutil.copyfileobj(src, out, length=1 << 20)
    os.replace(with_bom, path)
