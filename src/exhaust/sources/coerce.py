"""Turn loosely typed rows (JSONL, CSV, CQL, Redis) and foreign Arrow tables into the logical schema.

Text formats carry maps and lists as native JSON values or JSON text, and timestamps in several
spellings; everything is converted here once, and a value that cannot be converted is an error naming
the file, the line and the column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from exhaust.errors import SourceDataError
from exhaust.sources.schema import TABLES, TableSpec

# Sunbird's legacy enrolment text `2019-11-13 05:41:50:382+0000` uses a colon before the milliseconds.
_LEGACY_MILLIS = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}):(\d{1,3})")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
# Epoch milliseconds written as text (11+ digits, so basic ISO dates like 20200825 stay dates).
_EPOCH_MILLIS = re.compile(r"-?\d{11,}")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def parse_timestamp(value: object) -> datetime | None:
    """Parse ISO 8601, Cassandra's `yyyy-MM-dd HH:mm:ss[.SSS]+0000` and the legacy `:SSS` form, to UTC.

    A value without an offset is taken as UTC (Cassandra stores UTC). Numbers are epoch milliseconds.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    text = str(value).strip()
    if not text:
        return None
    if _EPOCH_MILLIS.fullmatch(text):
        return parse_timestamp(int(text))
    text = _LEGACY_MILLIS.sub(r"\1.\2", text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _COMPACT_OFFSET.sub(r"\1:\2", text)
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _json(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        try:
            return None if not text else json.loads(text)
        except RecursionError:
            raise ValueError("JSON nested too deeply to read") from None
    return value


def _blank(value: object) -> bool:
    """Missing: None, or text that is empty or only spaces (CSV cells, Redis hashes)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _whole(value: object) -> int:
    """A whole number from an int, an integral float (`2.0`, as pandas writes ints with nulls) or text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = value
    else:
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)  # raises ValueError for text that is no number at all
    if not math.isfinite(number) or number != int(number):
        raise ValueError("not a whole number")
    return int(number)


def _int_converter(arrow_type: pa.DataType):
    """Whole numbers checked against the column's range, so an overflow is a row error, not a crash."""
    bits = arrow_type.bit_width
    low, high = (
        (0, 2**bits - 1)
        if pa.types.is_unsigned_integer(arrow_type)
        else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )

    def to_int(value: object) -> int | None:
        if _blank(value):
            return None
        number = _whole(value)
        if not low <= number <= high:
            raise ValueError(f"out of range for {arrow_type}")
        return number

    return to_int


def _float(value: object) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    return float(value)  # type: ignore[arg-type]  # anything else float() refuses is a ValueError


def _bool(value: object) -> bool | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("not true or false")


def _pairs(value: object) -> Iterable[tuple[object, object]]:
    """Map entries from a JSON object, or from the list of (key, value) pairs Arrow gives for a map."""
    if isinstance(value, Mapping):
        return value.items()
    if isinstance(value, list | tuple) and all(isinstance(p, list | tuple) and len(p) == 2 for p in value):
        return [(k, v) for k, v in value]
    raise ValueError("not a map")


def _converter(arrow_type: pa.DataType):
    """A function converting one loosely typed value into a Python value of `arrow_type`."""
    if pa.types.is_integer(arrow_type):
        return _int_converter(arrow_type)
    for is_kind, converter in _SCALAR_CONVERTERS:
        if is_kind(arrow_type):
            return converter
    for is_kind, nested in _NESTED_CONVERTERS:
        if is_kind(arrow_type):
            return nested(arrow_type)
    raise TypeError(f"unsupported type {arrow_type}")


def _map_converter(arrow_type: pa.MapType):
    key, item = _converter(arrow_type.key_type), _converter(arrow_type.item_type)

    def to_map(value: object) -> list[tuple] | None:
        value = _json(value)
        if value is None:
            return None
        entries = [(key(k), item(v)) for k, v in _pairs(value)]
        if any(k is None for k, _ in entries):
            raise ValueError("a map key is empty")
        return entries

    return to_map


def _list_converter(arrow_type: pa.ListType):
    element = _converter(arrow_type.value_type)

    def to_list(value: object) -> list | None:
        value = _json(value)
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise ValueError("not a list")
        return [element(v) for v in value]

    return to_list


def _struct_converter(arrow_type: pa.StructType):
    fields = [(f.name, _converter(f.type)) for f in arrow_type]

    def to_struct(value: object) -> dict | None:
        value = _json(value)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValueError("not an object")
        return {name: convert(value.get(name)) for name, convert in fields}

    return to_struct


_SCALAR_CONVERTERS = (
    (pa.types.is_string, _text),
    (pa.types.is_floating, _float),
    (pa.types.is_boolean, _bool),
    (pa.types.is_timestamp, parse_timestamp),
)
# Nested types convert their members with `_converter` in turn.
_NESTED_CONVERTERS = (
    (pa.types.is_map, _map_converter),
    (pa.types.is_list, _list_converter),
    (pa.types.is_struct, _struct_converter),
)


def _hierarchy_text(value: object) -> str | None:
    """Content hierarchies are kept as JSON text, validated to be a JSON object."""
    parsed = _json(value)
    if parsed is None:
        return None
    if not isinstance(parsed, Mapping):
        raise ValueError("not a JSON object")
    return value if isinstance(value, str) else json.dumps(parsed, ensure_ascii=False)


# Sunbird's older column names, accepted on input and mapped to the logical name. As upstream's
# `latest(new, old)`, the old column is used only when the new one is missing or empty.
ALIASES: dict[str, dict[str, str]] = {
    "user_activity_agg": {"agg": "aggregates"},
    "course_batch": {
        "createdfor": "created_for",
        "enrollmenttype": "enrollment_type",
        "startdate": "start_date",
        "enddate": "end_date",
    },
}


def check_columns(table: str, present: Iterable[str], origin: str) -> None:
    """A stored table lacking a required column (e.g. `batch_id` for `batchid`) is an error naming both.

    Without this a misnamed key column reads as null everywhere, so a report is empty or blank and the
    job still ends SUCCESS.
    """
    names = set(present)
    names |= {new for old, new in ALIASES.get(table, {}).items() if old in names}
    missing = [c for c in TABLES[table].required_columns if c not in names]
    if missing:
        raise SourceDataError(
            f"{origin}: table {table} has no column {missing[0]}"
            + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else "")
        )


_ROW_ERRORS = (ValueError, TypeError, OverflowError, UnicodeDecodeError)
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError)


def rows_to_table(rows: Iterable[tuple[int, Mapping[str, object]]], table: str, origin: str) -> pa.Table:
    """Build the logical table `table` from (line number, row) pairs read from `origin`.

    Unknown columns are ignored; missing columns are null. A value that does not convert raises
    SourceDataError naming the origin, the line and the column.
    """
    spec: TableSpec = TABLES[table]
    aliases = ALIASES.get(table, {})
    converters = {
        f.name: (
            _hierarchy_text if (table, f.name) == ("content_hierarchy", "hierarchy") else _converter(f.type)
        )
        for f in spec.schema
    }
    columns: dict[str, list] = {name: [] for name in spec.columns}
    for line, raw in rows:
        row = dict(raw)
        for old, new in aliases.items():
            if old in row:
                stale = row.pop(old)
                if _blank(row.get(new)):
                    row[new] = stale
        for name, convert in converters.items():
            value = row.get(name)
            try:
                columns[name].append(convert(value))
            except _ROW_ERRORS as exc:
                shown = str(value)
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise SourceDataError(
                    f"{origin}, line {line}, column {name}: cannot read {shown!r} ({_reason(exc)})"
                ) from None
    arrays = {}
    for name, values in columns.items():
        try:
            arrays[name] = pa.array(values, type=spec.schema.field(name).type)
        except _ARROW_ERRORS as exc:
            raise SourceDataError(
                f"{origin}, column {name}: cannot store the values ({_reason(exc)})"
            ) from None
    return pa.table(arrays, schema=spec.schema)


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return "invalid JSON"
    text = str(exc).split("\n")[0]
    return text if len(text) < 80 else text[:77] + "..."


def conform(table: pa.Table, name: str, origin: str) -> pa.Table:
    """Cast a typed Arrow table (Parquet, a database) to the logical schema of `name`.

    Columns are matched by name (aliases included); absent ones become null. When a vectorised cast
    fails, the values are converted one by one so the error names the row (as `line`) and column.
    """
    spec = TABLES[name]
    for old, new in ALIASES.get(name, {}).items():
        if old in table.column_names and new not in table.column_names:
            table = table.rename_columns([new if c == old else c for c in table.column_names])
    arrays = []
    for field in spec.schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        try:
            arrays.append(_cast(column, field.type))
        except (*_ARROW_ERRORS, *_ROW_ERRORS):
            values = column.to_pylist()
            rows = ((i + 1, {field.name: v}) for i, v in enumerate(values))
            single = rows_to_table(rows, name, origin)  # raises with the row number
            arrays.append(single.column(field.name))
    return pa.table(arrays, schema=spec.schema)


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if column.type.equals(target):
        return column
    if pa.types.is_timestamp(target) and (
        pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    ):
        # Text timestamps come in several spellings (see parse_timestamp); parse each value.
        return pa.chunked_array([pa.array([parse_timestamp(v) for v in column.to_pylist()], type=target)])
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        # Spark and Cassandra exports carry micro- or nanoseconds; the logical unit is milliseconds.
        return column.cast(target, safe=False)
    return column.cast(target)
