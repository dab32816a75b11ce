"""Sunbird's PII encryption (SPEC §5.4): read and write email and phone as the platform stores them.

Format: three rounds of ``base64(AES-128-ECB/PKCS5(salt + value))`` with the fixed key
``ThisAsISerceKtey``; decryption strips the salt prefix by length without checking it, and returns
the input unchanged when it is blank or does not decrypt (so plain-text values pass through).

Sunbird's user service encodes with Java's ``sun.misc.BASE64Encoder``, which writes a ``\\n`` after
every full 76-character line (57 input bytes), a trailing one included when the input fills its last
line exactly. Those line breaks are part of the stored text, and because each round encrypts the
previous round's text, they also change the final ciphertext: ``encrypt`` reproduces them, so its
output is byte-for-byte what Sunbird stores. Decoding ignores whitespace.

The ``*_many`` / ``*_array`` forms work on a whole column at once: ECB encrypts 16-byte blocks
independently, so all padded messages of a round go through one cipher call, and base64 is done
with numpy over the packed bytes. They give exactly the scalar results.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY = b"ThisAsISerceKtey"
ROUNDS = 3
_LINE_BYTES = 57  # sun.misc.BASE64Encoder: 57 input bytes = one 76-character line
_LINE_CHARS = 76
_BLOCK = 16
_WHITESPACE = re.compile(rb"[ \t\n\r\x0b\x0c]")
_SLICE = 1 << 18  # values per vectorised pass, to bound the temporary index arrays

_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8)
_EQ = ord("=")
_NL = ord("\n")
_INVALID = 255
_SEXTET = np.full(256, _INVALID, dtype=np.uint8)
_SEXTET[_ALPHABET] = np.arange(64, dtype=np.uint8)
_SEXTET[_EQ] = 64
_IS_SPACE = np.zeros(256, dtype=bool)
_IS_SPACE[[9, 10, 11, 12, 13, 32]] = True


def salt_bytes(salt: str | None) -> bytes:
    """The salt as Sunbird uses it: CR, TAB and LF become the two literal characters ``\\r`` etc."""
    text = (salt or "").replace("\r", "\\r").replace("\t", "\\t").replace("\n", "\\n")
    return text.encode("utf-8")


def _cipher() -> Cipher:
    return Cipher(algorithms.AES(KEY), modes.ECB())


def _java_base64(raw: bytes) -> bytes:
    """Base64 with sun.misc.BASE64Encoder's line breaks."""
    text = base64.b64encode(raw)
    lines = [text[i : i + _LINE_CHARS] for i in range(0, len(text), _LINE_CHARS)]
    out = b"\n".join(lines)
    return out + b"\n" if raw and len(raw) % _LINE_BYTES == 0 else out


def encrypt(value: str, salt: str) -> str:
    """Encrypt one value as Sunbird stores it."""
    prefix = salt_bytes(salt)
    data = value.encode("utf-8")
    for _ in range(ROUNDS):
        padder = padding.PKCS7(128).padder()
        padded = padder.update(prefix + data) + padder.finalize()
        encryptor = _cipher().encryptor()
        data = _java_base64(encryptor.update(padded) + encryptor.finalize())
    return data.decode("ascii")


def decrypt(value: str | None, salt: str) -> str | None:
    """Decrypt one value; blank or undecryptable input comes back unchanged."""
    if value is None or not value.strip():
        return value
    if "\\n" in value:  # Java's line breaks written as backslash-n in CQL exports (see decrypt_array)
        clear = decrypt(value.replace("\\n", "\n"), salt)
        return value if clear == value.replace("\\n", "\n") else clear
    prefix = salt_bytes(salt)
    data = value.encode("utf-8")
    try:
        for _ in range(ROUNDS):
            raw = base64.b64decode(_WHITESPACE.sub(b"", data), validate=True)
            decryptor = _cipher().decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            plain = unpadder.update(decryptor.update(raw) + decryptor.finalize()) + unpadder.finalize()
            if len(plain) < len(prefix):
                return value
            data = plain[len(prefix) :]
        return data.decode("utf-8")
    except (ValueError, binascii.Error):
        return value


def encrypt_many(values: Sequence[str | None], salt: str) -> list[str | None]:
    """`encrypt` over a column (None stays None), vectorised."""
    return encrypt_array(pa.array(values, type=pa.string()), salt).to_pylist()


def decrypt_many(values: Sequence[str | None], salt: str) -> list[str | None]:
    """`decrypt` over a column, vectorised."""
    return decrypt_array(pa.array(values, type=pa.string()), salt).to_pylist()


def encrypt_array(values: pa.Array | pa.ChunkedArray, salt: str) -> pa.Array:
    """`encrypt` over an Arrow string column; nulls stay null."""
    prefix = salt_bytes(salt)
    return _by_slices(values, lambda part: _encrypt_slice(part, prefix))


def decrypt_array(values: pa.Array | pa.ChunkedArray, salt: str) -> pa.Array:
    """`decrypt` over an Arrow string column; values that do not decrypt are returned as they are.

    CQL has no escapes, so exports of Cassandra text may carry Java's line breaks as the two characters
    backslash and n; base64 never contains a backslash, so they are read as the line breaks they stand for.
    """
    prefix = salt_bytes(salt)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=pa.string())
    if pa.types.is_large_string(values.type) or pa.types.is_null(values.type):
        values = values.cast(pa.string())
    literal = pc.fill_null(pc.match_substring(values, "\\n"), False)
    if not pc.any(literal).as_py():
        return _by_slices(values, lambda part: _decrypt_slice(part, prefix))
    unescaped = pc.replace_substring(values, "\\n", "\n")
    clear = _by_slices(unescaped, lambda part: _decrypt_slice(part, prefix))
    undecrypted = pc.fill_null(pc.equal(clear, unescaped), False)
    return pc.if_else(undecrypted, values, clear)


def looks_encrypted(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """True where a value is Sunbird ciphertext: base64 of whole AES blocks that decrypt, under Sunbird's
    fixed key, with valid padding. It needs no salt, so a report can refuse to show ciphertext whatever
    the configured salt is. Plain emails, phones and names are never base64 of whole blocks."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=pa.string())
    if pa.types.is_large_string(values.type) or pa.types.is_null(values.type):
        values = values.cast(pa.string())
    values = pc.replace_substring(values, "\\n", "\n")
    found = np.zeros(len(values), dtype=bool)
    for start in range(0, len(values), _SLICE):
        part = values.slice(start, _SLICE)
        decoded = [d for g in _groups(part) for d in _decode_base64(g) if d.data.shape[1] % _BLOCK == 0]
        plain = _ecb([d.data for d in decoded], False)
        for d, p in zip(decoded, plain, strict=True):
            for group in _unpad(d.rows, p, 0):
                found[start + group.rows] = True
    return pa.array(found, type=pa.bool_())


# --- vectorised implementation -------------------------------------------------------------------
#
# Values are processed in groups of equal byte length, each a 2-D uint8 array (one row per value),
# so salting, padding, base64 and line breaks are plain column operations. A column has few distinct
# lengths, and ciphertexts only come in multiples of 16 bytes, so groups stay few. Each round joins
# every group into one buffer for a single cipher call.


class _Group(NamedTuple):
    """Values of equal length: their positions in the input column and their bytes, one per row."""

    rows: np.ndarray
    data: np.ndarray


def _by_slices(values: pa.Array | pa.ChunkedArray, work) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=pa.string())
    if pa.types.is_large_string(values.type) or pa.types.is_null(values.type):  # null: an all-empty column
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise TypeError(f"expected a string column, got {values.type}")
    parts = [work(values.slice(start, _SLICE)) for start in range(0, len(values), _SLICE)]
    if not parts:
        return pa.array([], type=pa.string())
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def _partition(keys: np.ndarray) -> list[np.ndarray]:
    """Indices of `keys` grouped by equal key."""
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    return [part for part in np.split(order, bounds) if len(part)]


def _groups(values: pa.Array) -> list[_Group]:
    """The non-null values of a string array, grouped by byte length.

    Sorting the column by length (an Arrow take) makes each group one contiguous run of bytes.
    """
    lengths = pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(lengths, kind="stable")
    ordered = pc.fill_null(values, "").take(pa.array(order))
    _, offsets_buf, data_buf = ordered.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[: len(ordered) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    sorted_lengths = lengths[order]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sorted_lengths)) + 1, [len(order)]))
    groups = []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        width = int(sorted_lengths[a]) if b > a else -1
        if width < 0:
            continue
        block = data[offsets[a] : offsets[b]].reshape(b - a, width)
        groups.append(_Group(order[a:b], block))
    return groups


def _strings(data: np.ndarray) -> pa.Array:
    """A string array from a 2-D array of equal-length rows (UTF-8 not checked)."""
    rows, width = data.shape
    offsets = np.arange(rows + 1, dtype=np.int64) * width
    buffer = pa.py_buffer(np.ascontiguousarray(data))
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets.astype(np.int32)), buffer)
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), buffer).cast(pa.string())


def _assemble(values: pa.Array, groups: list[_Group], texts: list[pa.Array], base: pa.Array) -> pa.Array:
    """`base` with the rows of every group replaced by that group's texts."""
    if not groups:
        return base
    rows = np.concatenate([g.rows for g in groups])
    joined = pa.concat_arrays(texts) if len(texts) > 1 else texts[0]
    order = np.argsort(rows, kind="stable")
    if len(rows) == len(values):
        return joined.take(pa.array(order))
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(base, pa.array(mask), joined.take(pa.array(order)))


def _ecb(blocks: list[np.ndarray], encrypt: bool) -> list[np.ndarray]:
    """AES-ECB over every 2-D block (rows a multiple of 16 bytes long) in one cipher call."""
    if not blocks:
        return []
    context = _cipher().encryptor() if encrypt else _cipher().decryptor()
    joined = np.concatenate([b.ravel() for b in blocks]).tobytes()
    out = np.frombuffer(context.update(joined) + context.finalize(), dtype=np.uint8)
    result, start = [], 0
    for block in blocks:
        result.append(out[start : start + block.size].reshape(block.shape))
        start += block.size
    return result


def _encrypt_slice(values: pa.Array, prefix: bytes) -> pa.Array:
    groups = _groups(values)
    salt = np.frombuffer(prefix, dtype=np.uint8)
    for _ in range(ROUNDS):
        blocks = []
        for group in groups:
            count, width = group.data.shape
            size = len(salt) + width
            padded = (size // _BLOCK + 1) * _BLOCK
            block = np.empty((count, padded), dtype=np.uint8)
            block[:, : len(salt)] = salt
            block[:, len(salt) : size] = group.data
            block[:, size:] = padded - size
            blocks.append(block)
        groups = [_Group(g.rows, _base64_java(c)) for g, c in zip(groups, _ecb(blocks, True), strict=True)]
    return _assemble(values, groups, [_strings(g.data) for g in groups], pa.nulls(len(values), pa.string()))


def _base64_java(raw: np.ndarray) -> np.ndarray:
    """Base64 of every row, with a newline after each full 76-character line (sun.misc style).

    Rows are zero-padded to whole 3-byte groups so one encoding of the joined rows stays aligned;
    the characters standing for the padding then become `=`.
    """
    count, width = raw.shape
    triples = -(-width // 3)
    if triples * 3 != width:
        padded = np.zeros((count, triples * 3), dtype=np.uint8)
        padded[:, :width] = raw
        raw = padded
    encoded = binascii.b2a_base64(np.ascontiguousarray(raw).tobytes(), newline=False)
    chars = np.frombuffer(encoded, dtype=np.uint8).reshape(count, triples * 4)
    missing = triples * 3 - width
    if missing:
        chars = chars.copy()
        chars[:, -missing:] = _EQ
    lines = width // _LINE_BYTES
    if not lines:
        return chars
    out = np.empty((count, chars.shape[1] + lines), dtype=np.uint8)
    for line in range(lines):
        start = line * (_LINE_CHARS + 1)
        out[:, start : start + _LINE_CHARS] = chars[:, line * _LINE_CHARS : (line + 1) * _LINE_CHARS]
        out[:, start + _LINE_CHARS] = _NL
    out[:, lines * (_LINE_CHARS + 1) :] = chars[:, lines * _LINE_CHARS :]
    return out


def _decrypt_slice(values: pa.Array, prefix: bytes) -> pa.Array:
    groups = _groups(values)
    for _ in range(ROUNDS):
        decoded = [d for g in groups for d in _decode_base64(g) if d.data.shape[1] % _BLOCK == 0]
        plain = _ecb([d.data for d in decoded], False)
        groups = [u for d, p in zip(decoded, plain, strict=True) for u in _unpad(d.rows, p, len(prefix))]
    texts, kept = [], []
    for group in groups:
        text = _strings(group.data)
        try:
            text.validate(full=True)
        except pa.ArrowInvalid:  # not UTF-8 (never for genuine values): keep those inputs unchanged
            good = np.array([_is_utf8(row.tobytes()) for row in group.data], dtype=bool)
            group = _Group(group.rows[good], group.data[good])
            text = _strings(group.data)
        texts.append(text)
        kept.append(group)
    return _assemble(values, kept, texts, values)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _without_whitespace(group: _Group) -> list[_Group]:
    data = group.data
    columns = np.flatnonzero((data <= 32).any(axis=0))  # every whitespace byte is <= 32
    if not len(columns):
        return [group]
    space = np.zeros(data.shape, dtype=bool)
    space[:, columns] = _IS_SPACE[data[:, columns]]
    if (space[:, columns] == space[0, columns]).all():  # Sunbird's line breaks: same columns per length
        return [_Group(group.rows, data[:, ~space[0]])]
    solid = (~space).sum(axis=1)
    out = []
    for part in _partition(solid):
        order = np.argsort(space[part], axis=1, kind="stable")
        compact = np.take_along_axis(data[part], order, axis=1)[:, : solid[part[0]]]
        out.append(_Group(group.rows[part], compact))
    return out


def _decode_base64(group: _Group) -> list[_Group]:
    """Strict base64 decoding of every row (whitespace ignored); rows that are not base64 are dropped."""
    out = []
    for part in _without_whitespace(group):
        width = part.data.shape[1]
        if width and width % 4 == 0:
            out.extend(_decode_fast(part) or _decode_rows(part))
    return [g for g in out if g.data.shape[1]]


def _decode_fast(part: _Group) -> list[_Group] | None:
    """Decode a group whose rows are all well-formed in one binascii call; None when some are not."""
    data = part.data
    if (data[:, :-2] == _EQ).any():
        return None
    tail = data[:, -2:] == _EQ
    if (tail[:, 0] & ~tail[:, 1]).any():
        return None
    pads = tail.sum(axis=1)
    if pads.any():
        data = data.copy()
        data[:, -2:][tail] = ord("A")  # same leading bits; the padding bytes are cut off below
    try:
        raw = binascii.a2b_base64(np.ascontiguousarray(data).tobytes(), strict_mode=True)
    except binascii.Error:
        return None
    full = data.shape[1] // 4 * 3
    raw_rows = np.frombuffer(raw, dtype=np.uint8).reshape(len(data), full)
    out = []
    for pad in (0, 1, 2):
        chosen = pads == pad
        if chosen.all():
            out.append(_Group(part.rows, raw_rows[:, : full - pad]))
        elif chosen.any():
            out.append(_Group(part.rows[chosen], raw_rows[chosen, : full - pad]))
    return out


def _decode_rows(part: _Group) -> list[_Group]:
    """Row-by-row validation and decoding with numpy, for groups mixing valid and invalid rows."""
    width = part.data.shape[1]
    sextets = _SEXTET[part.data]
    is_pad = sextets == 64
    pads = is_pad.sum(axis=1)
    valid = ~(sextets == _INVALID).any(axis=1) & (pads <= 2)
    valid &= (pads < 1) | is_pad[:, -1]
    valid &= (pads < 2) | is_pad[:, -2]
    out = []
    for pad in (0, 1, 2):
        chosen = valid & (pads == pad)
        if not chosen.any():
            continue
        s = np.where(is_pad[chosen], 0, sextets[chosen]).astype(np.uint32)
        q = s.reshape(len(s), width // 4, 4)
        word = (q[..., 0] << 18) | (q[..., 1] << 12) | (q[..., 2] << 6) | q[..., 3]
        raw = np.empty((len(s), width // 4, 3), dtype=np.uint8)
        raw[..., 0] = word >> 16
        raw[..., 1] = (word >> 8) & 255
        raw[..., 2] = word & 255
        out.append(_Group(part.rows[chosen], raw.reshape(len(s), -1)[:, : width // 4 * 3 - pad]))
    return out


def _unpad(rows: np.ndarray, plain: np.ndarray, salt_length: int) -> list[_Group]:
    """Check PKCS7 padding per row, then drop the padding and the salt prefix."""
    width = plain.shape[1]
    pad = plain[:, -1].astype(np.int64)
    valid = (pad >= 1) & (pad <= _BLOCK)
    in_pad = np.arange(_BLOCK)[None, :] >= (_BLOCK - pad)[:, None]
    valid &= np.all((plain[:, -_BLOCK:] == plain[:, -1:]) | ~in_pad, axis=1)
    out = []
    for value in np.unique(pad[valid]).tolist():
        keep = width - value
        if keep < salt_length:
            continue
        chosen = valid & (pad == value)
        out.append(_Group(rows[chosen], plain[chosen, salt_length:keep]))
    return out
