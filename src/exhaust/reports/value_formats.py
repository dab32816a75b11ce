"""Apply a profile's value formats to computed report columns (Arrow kernels, once per part).

The CSV writer prints by type (whole numbers without a decimal point, the profile's timestamp pattern,
`true` / `false`); a column with a value format is turned into text here first, so a profile can print
numbers as Java does (`1.0`, `0.33`), dates as `dd/MM/yyyy` and booleans as any two words.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from exhaust.reports.profiles import ValueFormat


def format_column(values: pa.ChunkedArray | pa.Array, fmt: ValueFormat) -> pa.ChunkedArray | pa.Array:
    """`values` as formatted text, or unchanged when `fmt` says nothing about their type."""
    kind = values.type
    if fmt.number == "decimal" and (
        pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind)
    ):
        return _decimal(values.cast(pa.float64()))
    if fmt.date is not None and pa.types.is_timestamp(kind):
        utc = values.cast(pa.timestamp("ms", tz="UTC"))
        return pc.strftime(utc, format=fmt.date)
    if (fmt.true is not None or fmt.false is not None) and pa.types.is_boolean(kind):
        true = pa.scalar("true" if fmt.true is None else fmt.true, pa.string())
        false = pa.scalar("false" if fmt.false is None else fmt.false, pa.string())
        return pc.if_else(values, true, false)
    # Anything else (text, a prefixed id, a format for another type) prints as it is.
    return values


def _decimal(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Java's Double.toString for everyday values: at least one decimal (`1.0`, `0.33`, `10.0`)."""
    whole = pc.and_(
        pc.and_(pc.is_finite(values), pc.equal(values, pc.floor(values))), pc.less(pc.abs(values), 1e15)
    )
    as_whole = pc.binary_join_element_wise(
        pc.cast(pc.if_else(whole, values, 0.0), pa.int64()).cast(pa.string()), ".0", ""
    )
    return pc.if_else(whole, as_whole, values.cast(pa.string()))
