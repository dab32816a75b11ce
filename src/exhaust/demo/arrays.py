"""Vectorised Arrow builders for the demo data: ids, text, dates, maps and lists, with no row loops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.sources.schema import TS

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_TOKEN = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)


def fixed_width(chars: np.ndarray) -> pa.Array:
    """A string array whose rows are the rows of a 2-D uint8 array of ASCII characters."""
    rows, width = chars.shape
    offsets = pa.py_buffer((np.arange(rows + 1, dtype=np.int64) * width).astype(np.int32))
    return pa.StringArray.from_buffers(rows, offsets, pa.py_buffer(np.ascontiguousarray(chars)))


def _nibbles(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """(n, width) random values 0..15, two per random byte."""
    half = (width + 1) // 2
    raw = np.frombuffer(rng.bytes(n * half), dtype=np.uint8).reshape(n, half)
    out = np.empty((n, raw.shape[1] * 2), dtype=np.uint8)
    out[:, 0::2] = raw >> 4
    out[:, 1::2] = raw & 15
    return out[:, :width]


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """Random version-4 UUID strings (`8-4-4-4-12` lower-case hex)."""
    nibbles = _nibbles(rng, n, 32)
    nibbles[:, 12] = 4
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    for start, stop, to in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        chars[:, to : to + stop - start] = _HEX[nibbles[:, start:stop]]
    return fixed_width(chars)


def hex_ids(rng: np.random.Generator, n: int, width: int = 32) -> pa.Array:
    """Random lower-case hex strings, like Sunbird's attempt ids."""
    return fixed_width(_HEX[_nibbles(rng, n, width)])


def digits(rng: np.random.Generator, n: int, width: int, first: str = "0123456789") -> pa.Array:
    """Random digit strings of `width` characters whose first digit is one of `first`."""
    chars = _DIGITS[rng.integers(0, 10, size=(n, width), dtype=np.uint8)]
    allowed = np.frombuffer(first.encode(), dtype=np.uint8)
    chars[:, 0] = allowed[rng.integers(0, len(allowed), size=n)]
    return fixed_width(chars)


def tokens(rng: np.random.Generator, n: int, width: int = 6) -> pa.Array:
    """Random certificate-style tokens (upper case and digits, no look-alikes)."""
    return fixed_width(_TOKEN[rng.integers(0, len(_TOKEN), size=(n, width), dtype=np.uint8)])


def constant(text: str, n: int) -> pa.Array:
    """`text` n times, as a string array (built in Arrow: a Python list of n items holds the GIL)."""
    return pa.repeat(pa.scalar(text, pa.string()), n)


def pick(words: Sequence[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """words[index] for every index, as a string array."""
    array = words if isinstance(words, pa.Array) else pa.array(list(words), type=pa.string())
    return array.take(pa.array(index))


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays (and constant strings) element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def where_null(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """`values` with null wherever `mask` is true."""
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def timestamps(millis: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """UTC millisecond timestamps (optionally null where `null` is true)."""
    array = pa.array(millis.astype(np.int64), type=pa.int64()).cast(TS)
    return where_null(array, null) if null is not None else array


def legacy_dates(millis: np.ndarray) -> pa.Array:
    """Sunbird's legacy enrolment text, `2019-11-13 05:41:50:382+0000` (UTC)."""
    text = pc.strftime(timestamps(millis), format="%Y-%m-%d %H:%M:%S")  # seconds print as `50.382`
    return join(pc.replace_substring(text, ".", ":"), "+0000")


def iso_dates(millis: np.ndarray) -> pa.Array:
    """Sunbird's ISO text in map values, `2026-03-04T10:15:22.123+0000`."""
    return join(pc.strftime(timestamps(millis), format="%Y-%m-%dT%H:%M:%S"), "+0000")


def scala_doubles(values: np.ndarray) -> pa.Array:
    """Doubles printed as Scala does (`8.0`, `6.5`), for `grand_total`."""
    whole = np.floor(values) == values
    as_int = join(pa.array(values.astype(np.int64)).cast(pa.string()), ".0")
    return pc.if_else(pa.array(whole), as_int, pa.array(values).cast(pa.string()))


def scala_fractions(numerators: np.ndarray, denominators: np.ndarray) -> pa.Array:
    """`8.0/10.0` per row (`scala_doubles` of both), formatted once per distinct pair: scores repeat."""
    pairs, inverse = np.unique(numerators + 1j * denominators, return_inverse=True)
    text = join(scala_doubles(pairs.real), "/", scala_doubles(pairs.imag))
    return text.take(pa.array(inverse.reshape(-1)))


def offsets_of(counts: np.ndarray) -> np.ndarray:
    """Arrow list offsets for the given per-row counts."""
    out = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=out[1:])
    return out


def map_rows(
    counts: np.ndarray, keys: pa.Array, items: pa.Array, map_type: pa.DataType, null: np.ndarray | None = None
) -> pa.Array:
    """A map column: row i holds the next counts[i] (key, item) pairs; null where `null` is true."""
    mask = pa.array(null) if null is not None and null.any() else None
    return pa.MapArray.from_arrays(pa.array(offsets_of(counts)), keys, items, type=map_type, mask=mask)


def list_rows(counts: np.ndarray, values: pa.Array, list_type: pa.DataType, null: np.ndarray | None = None):
    """A list column: row i holds the next counts[i] values; null where `null` is true."""
    mask = pa.array(null) if null is not None and null.any() else None
    return pa.ListArray.from_arrays(pa.array(offsets_of(counts)), values, type=list_type, mask=mask)


def interleave(columns: Sequence[pa.Array]) -> pa.Array:
    """[c0[0], c1[0], ..., c0[1], c1[1], ...]: rows of equal-length columns laid out one after another."""
    n, k = len(columns[0]), len(columns)
    joined = pa.concat_arrays([c.cast(pa.string()) for c in columns])
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    return joined.take(pa.array(order))
