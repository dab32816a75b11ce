"""Read one emitted CSV and sort its rows as cQube does (research §4.3), with vectorised checks only.

Order of the checks, each on what the previous one let through: blank lines (counted, skipped);
header (the variant whose required columns are all there, case-insensitive; a missing column rejects
the file); type check of every selected cell (a line failing any cell, or with the wrong number of
fields, is a type mismatch); mandatory NULLs (the row is dropped, counted per column); exact duplicates
(one kept); rows of one key with different values (all dropped). Every refused row lands in `errors`
with its line number, column and reason. The CSV is read by pyarrow and the duplicates found by DuckDB:
no Python loop over rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from exhaust.emission.spec import Column, DataSource, Variant
from exhaust.errors import EmittedFileRejected

LINE = "_line"
ERROR_SCHEMA = pa.schema(
    [("line", pa.int64()), ("column", pa.string()), ("reason", pa.string()), ("value", pa.string())]
)
_BLOCK = 16 << 20
_PATTERNS = {
    "int": r"^[+-]?[0-9]{1,10}$",
    "long": r"^[+-]?[0-9]{1,18}$",
    "decimal": r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
}
_WHAT = {"int": "an integer", "long": "an integer", "decimal": "a number", "date": "a date (yyyy-MM-dd)"}
_OTHER_DELIMITERS = ("|", ",", "\t", ";")


@dataclass
class Checked:
    """The outcome of checking one file: cQube's counters, the clean typed rows and the refused ones."""

    data_source: str
    variant: str = ""
    total_records: int = 0
    blank_lines: int = 0
    duplicate_records: int = 0
    datatype_mismatch: int = 0
    records_with_null_value: dict[str, int] = field(default_factory=dict)
    count_of_null_rows: int = 0
    rows: pa.Table | None = None  # the clean rows, table column names and types
    errors: pa.Table = field(default_factory=ERROR_SCHEMA.empty_table)

    @property
    def processed_records(self) -> int:
        """cQube's formula: total − (blank + duplicates + type mismatches) − rows with a NULL."""
        return self.total_records - (
            self.blank_lines + self.duplicate_records + self.datatype_mismatch
        ) - self.count_of_null_rows  # fmt: skip


def _lines(path: Path) -> pa.ChunkedArray:
    """Every physical line of the file as text (no CSV parsing: blank lines and line numbers)."""
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=["text"], block_size=_BLOCK),
            parse_options=pacsv.ParseOptions(
                delimiter="\x01", quote_char=False, escape_char=False, ignore_empty_lines=False,
                invalid_row_handler=lambda _row: "skip",
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={"text": pa.string()}, strings_can_be_null=False
            ),
        )  # fmt: skip
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise EmittedFileRejected("the file is empty") from None
        raise EmittedFileRejected("the file is not readable text (UTF-8 CSV)") from None
    return table["text"]


def _split_header(line: str, delimiter: str) -> list[str]:
    return [name.strip().strip('"').strip().lower() for name in next(csv.reader([line], delimiter=delimiter))]


def _missing(variant: Variant, names: list[str]) -> list[str]:
    present = set(names)
    return [c.headers[0] for c in variant.columns if not present & set(c.headers)]


def choose_variant(source: DataSource, header_line: str) -> tuple[Variant, list[str]]:
    """The variant the header fits and its names; rejects the file naming what is missing."""
    names = _split_header(header_line, source.delimiter)
    ranked = sorted(source.variants, key=lambda v: len(_missing(v, names)))
    best = ranked[0]
    missing = _missing(best, names)
    if not missing:
        return best, names
    for other in _OTHER_DELIMITERS:
        if other != source.delimiter and any(
            not _missing(v, _split_header(header_line, other)) for v in source.variants
        ):
            raise EmittedFileRejected(
                f"the file is {_name(other)}-delimited; {source.name} files must be "
                f"{_name(source.delimiter)}-delimited"
            )
    raise EmittedFileRejected(
        f"columns did not match: missing {', '.join(missing)} (header checked case-insensitively)"
    )


def _name(delimiter: str) -> str:
    return {"|": "pipe (|)", ",": "comma (,)", "\t": "tab", ";": "semicolon (;)"}.get(delimiter, delimiter)


def check_header(path: Path, source: DataSource) -> Variant:
    """Only the header check (what the client does before sending a file)."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        for line in handle:
            if line.strip():
                return choose_variant(source, line.rstrip("\r\n"))[0]
    raise EmittedFileRejected("the file is empty")


def check_csv(path: Path, source: DataSource) -> Checked:
    """Check one CSV file of `source`; raises `EmittedFileRejected` when the whole file is refused."""
    line_count, blank_count, nonblank, header_line = _line_facts(path)
    header_index = int(nonblank[0].as_py())
    variant, names = choose_variant(source, header_line)
    result = Checked(source.name, variant.name)
    result.total_records = line_count - 1
    result.blank_lines = blank_count
    wanted = {}
    for column in variant.columns:
        index = next(i for i, name in enumerate(names) if name in column.headers)
        wanted[column.name] = (index, column)
    invalid: list[tuple[int, int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Only rows with the wrong number of fields reach this (bad rows, not every row). A line of
        # blanks is one too; it was counted as blank already. Numbers count from after the header.
        text = row.text or ""
        if text.strip():
            line = row.number + header_index + 1 if row.number else 0
            invalid.append((line, row.actual_columns, text[:200]))
        return "skip"

    generated = [f"c{i}" for i in range(len(names))]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=generated, skip_rows=header_index + 1, block_size=_BLOCK, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=source.delimiter, quote_char='"', escape_char="\\", double_quote=True,
                newlines_in_values=False, ignore_empty_lines=True, invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in generated},
                include_columns=[f"c{index}" for index, _ in wanted.values()],
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except pa.ArrowInvalid as exc:
        raise EmittedFileRejected(f"the file cannot be read as CSV ({str(exc).splitlines()[0]})") from None
    line_numbers = _row_lines(nonblank, header_index, invalid, table.num_rows)
    result.datatype_mismatch = len(invalid)
    errors = [
        _errors_of(
            pa.array([n for n, _, _ in invalid], pa.int64()),
            "",
            [f"{actual} fields where the header has {len(names)}" for _, actual, _ in invalid],
            pa.array([text for _, _, text in invalid], pa.string()),
        )
    ]
    columns = {name: _clean(table[f"c{index}"], source, column) for name, (index, column) in wanted.items()}
    del table  # memory: from here on only the cleaned columns are kept, and dropped once typed
    _check_types(result, source, variant, columns, line_numbers, errors)
    return result


def _line_facts(path: Path) -> tuple[int, int, pa.Array, str]:
    """Lines, blank lines, the indices of the non-blank ones and the header line (the text is freed)."""
    lines = _lines(path)
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(lines)), 0)
    nonblank = pc.indices_nonzero(pc.invert(blank))
    if len(nonblank) == 0:
        raise EmittedFileRejected("the file has no header line")
    header_line = lines[int(nonblank[0].as_py())].as_py().lstrip("\ufeff")
    return len(lines), int(pc.sum(blank).as_py() or 0), nonblank, header_line


def _row_lines(nonblank: pa.Array, header_index: int, invalid: list, rows: int) -> pa.Array:
    """The 1-based line number of each parsed row: non-blank lines after the header, minus bad rows."""
    after = pc.filter(nonblank, pc.greater(nonblank, header_index))
    numbers = pc.add(after, 1)
    bad = pa.array([n for n, _, _ in invalid if n], pa.int64())
    if len(bad):
        numbers = pc.filter(numbers, pc.invert(pc.is_in(numbers, value_set=bad)))
    if len(numbers) != rows:  # a quoted value spans lines: count records instead
        return pa.array(range(header_index + 2, header_index + 2 + rows), pa.int64())
    return numbers.cast(pa.int64())


def _clean(values: pa.ChunkedArray, source: DataSource, column: Column) -> pa.ChunkedArray:
    """Trim (pipe files), make NULL of the null strings, apply the source's value transforms."""
    if source.trim:
        values = pc.utf8_trim_whitespace(values)
    values = pc.if_else(pc.is_in(values, value_set=pa.array(source.null_strings)), None, values)
    if column.name in source.strip_percent:
        values = pc.replace_substring(values, "%", "")
    if column.check == "date" and source.day_first_dates:
        values = pc.replace_substring_regex(values, r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$", r"\3-\2-\1")
    return values


def _errors_of(lines, column, reasons, values) -> pa.Table:
    """Error rows: `column` and `reasons` are one text for all, or an array per row."""
    n = len(lines)
    as_array = lambda v: pa.array([v] * n, pa.string()) if isinstance(v, str) else v  # noqa: E731
    return pa.table(
        {
            "line": pc.cast(lines, pa.int64()),
            "column": as_array(column),
            "reason": as_array(reasons),
            "value": pc.cast(values, pa.string()),
        }
    )


def _typed(values: pa.ChunkedArray, check: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(typed values, bad mask) of one column: a non-NULL cell that does not parse is bad."""
    if check == "str":
        return values, pc.fill_null(pc.is_null(values), False)
    ok = pc.match_substring_regex(values, _PATTERNS[check])
    bad = pc.fill_null(pc.invert(ok), False)
    usable = pc.if_else(ok, values, None)
    if check in ("int", "long"):
        typed = pc.cast(usable, pa.int64())
        if check == "int":
            out_of_range = pc.or_(pc.less(typed, -(2**31)), pc.greater(typed, 2**31 - 1))
            bad = pc.or_(bad, pc.fill_null(out_of_range, False))
            typed = pc.if_else(pc.fill_null(out_of_range, False), None, typed)
        return typed, bad
    if check == "decimal":
        return pc.cast(usable, pa.float64()), bad
    parsed = pc.strptime(usable, format="%Y-%m-%d", unit="s", error_is_null=True)
    bad = pc.or_(bad, pc.and_(pc.is_valid(usable), pc.is_null(parsed)))
    return pc.cast(parsed, pa.date32()), bad


def _check_types(result: Checked, source, variant, columns, line_numbers, errors) -> None:
    n = len(line_numbers)
    any_bad = pa.array([False] * n) if n else pa.array([], pa.bool_())
    typed = {}
    headers = {c.name: c.headers[0] for c in variant.columns}
    for column in variant.columns:
        values, bad = _typed(columns[column.name], column.check)
        typed[column.name] = values
        if column.check != "str" and pc.any(bad).as_py():
            where = pc.indices_nonzero(bad)
            errors.append(
                _errors_of(
                    pc.take(line_numbers, where),
                    headers[column.name],
                    f"not {_WHAT[column.check]}",
                    pc.take(columns[column.name], where),
                )
            )
            any_bad = pc.or_(any_bad, bad)
        columns[column.name] = None  # the text column is no longer needed
    result.datatype_mismatch += int(pc.sum(any_bad).as_py() or 0)
    keep = pc.invert(any_bad)
    table = pa.table({**typed, LINE: line_numbers}).filter(keep)
    typed.clear()
    # Mandatory values (a latitude / longitude of 0 counts as missing: "No lat long").
    row_null = pa.array([False] * table.num_rows, pa.bool_())
    for column in variant.columns:
        if not column.mandatory:
            continue
        missing = pc.is_null(table[column.name])
        if column.name in source.zero_is_missing:
            missing = pc.or_(missing, pc.fill_null(pc.equal(table[column.name], 0), False))
        count = int(pc.sum(missing).as_py() or 0)
        result.records_with_null_value[column.name] = count
        if count:
            where = pc.indices_nonzero(missing)
            errors.append(
                _errors_of(
                    pc.take(table[LINE], where),
                    headers[column.name],
                    "mandatory value missing",
                    pc.take(table[column.name], where).cast(pa.string()),
                )
            )
            row_null = pc.or_(row_null, missing)
    result.count_of_null_rows = int(pc.sum(row_null).as_py() or 0)
    table = table.filter(pc.invert(row_null))
    _deduplicate(result, source, variant, table, errors)


def _deduplicate(result: Checked, source: DataSource, variant: Variant, table: pa.Table, errors) -> None:
    """Exact duplicates (one kept) and keys with different values (all refused), found by DuckDB.

    Rows are first reduced to two 64-bit hashes (of all columns, of the key); only rows whose hash
    occurs twice are candidates, and the exact window queries run on those alone, so memory and time
    do not grow with a big clean file's width.
    """
    names = [c.name for c in variant.columns]
    keys = [k for k in source.keys if k in names]
    quoted = ", ".join(f'"{n}"' for n in names)
    key_list = ", ".join(f'"{k}"' for k in keys)
    key_text = " || ', ' || ".join(f"coalesce(CAST(\"{k}\" AS VARCHAR), 'NULL')" for k in keys)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.execute("SET preserve_insertion_order = false")
        con.register("checked", table)
        con.execute(
            f"""
            CREATE TEMP TABLE hashed AS
            SELECT {LINE}, hash({quoted}) AS row_hash, hash({key_list}) AS key_hash FROM checked
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE candidates AS
            SELECT c.* FROM checked c JOIN (
                SELECT {LINE} FROM hashed
                WHERE row_hash IN (SELECT row_hash FROM hashed GROUP BY row_hash HAVING count(*) > 1)
                   OR key_hash IN (SELECT key_hash FROM hashed GROUP BY key_hash HAVING count(*) > 1)
            ) h USING ({LINE})
            """
        )
        marked = con.sql(
            f"""
            WITH first AS (
                SELECT *, min({LINE}) OVER (PARTITION BY {quoted}) AS _first FROM candidates
            ), kept AS (
                SELECT *, count(*) OVER (PARTITION BY {key_list}) AS _n,
                       min({LINE}) OVER (PARTITION BY {key_list}) AS _key_first
                FROM first WHERE {LINE} = _first
            )
            SELECT {LINE}, '(all columns)' AS col, 'exact duplicate of line ' || _first AS reason
              FROM first WHERE {LINE} <> _first
            UNION ALL
            SELECT {LINE}, '{", ".join(keys)}', 'key ' || {key_text}
                   || ' appears on ' || _n || ' lines with different values (first line ' || _key_first || ')'
              FROM kept WHERE _n > 1
            """
        ).to_arrow_table()
        result.duplicate_records = marked.num_rows
        if marked.num_rows:
            errors.append(
                _errors_of(
                    marked[LINE], marked["col"], marked["reason"], pa.nulls(marked.num_rows, pa.string())
                )
            )
            rejected = marked[LINE].combine_chunks()
            table = table.filter(pc.invert(pc.is_in(table[LINE], value_set=rejected)))
    finally:
        con.close()
    result.rows = table
    result.errors = pa.concat_tables([e.cast(ERROR_SCHEMA) for e in errors]).sort_by([("line", "ascending")])
