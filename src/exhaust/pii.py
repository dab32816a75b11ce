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
    """`decrypt` over an Arrow string column; values that do not decrypt are returned as they are."""
    prefix = salt_bytes(salt)
    return _by_slices(values, lambda part: _decrypt_slice(part, prefix))


# --- vectorised implementation -------------------------------------------------------------------


class _Packed(NamedTuple):
    """Variable-length byte strings: all bytes back to back, and offsets (n + 1, starting at 0)."""

    data: np.ndarray
    offsets: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def _by_slices(values: pa.Array | pa.ChunkedArray, work) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=pa.string())
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise TypeError(f"expected a string column, got {values.type}")
    parts = [work(values.slice(start, _SLICE)) for start in range(0, len(values), _SLICE)]
    if not parts:
        return pa.array([], type=pa.string())
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def _pack(values: pa.Array) -> _Packed:
    """The bytes of a string array (nulls as empty strings)."""
    clean = pc.fill_null(values, "") if values.null_count else values
    _, offsets_buf, data_buf = clean.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[clean.offset : clean.offset + len(clean) + 1]
    offsets = offsets.astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]] if data_buf else np.empty(0, np.uint8)
    return _Packed(data, offsets - offsets[0])


def _starts(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _within(lengths: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For every byte of the packed data, its index inside its own string."""
    return np.arange(starts[-1], dtype=np.int64) - np.repeat(starts[:-1], lengths)


def _segment_sums(flags: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    total = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=total[1:])
    return total[offsets[1:]] - total[offsets[:-1]]


def _to_arrow(packed: _Packed) -> pa.Array:
    n = len(packed.offsets) - 1
    if packed.offsets[-1] < 2**31 - 1:
        offsets = pa.py_buffer(packed.offsets.astype(np.int32))
        return pa.StringArray.from_buffers(n, offsets, pa.py_buffer(packed.data))
    large = pa.LargeStringArray.from_buffers(n, pa.py_buffer(packed.offsets), pa.py_buffer(packed.data))
    return large.cast(pa.string())


def _encrypt_slice(values: pa.Array, prefix: bytes) -> pa.Array:
    packed = _pack(values)
    for _ in range(ROUNDS):
        packed = _encode_java(_aes_encrypt(packed, prefix))
    out = _to_arrow(packed)
    return pc.if_else(values.is_null(), pa.scalar(None, pa.string()), out) if values.null_count else out


def _aes_encrypt(packed: _Packed, prefix: bytes) -> _Packed:
    """AES-ECB(prefix + value) with PKCS7 padding for every value, in one cipher call."""
    n = len(packed.offsets) - 1
    lengths = packed.lengths
    message = lengths + len(prefix)
    padded = (message // _BLOCK + 1) * _BLOCK
    starts = _starts(padded)
    buf = np.repeat((padded - message).astype(np.uint8), padded)
    if prefix:
        salt = np.frombuffer(prefix, dtype=np.uint8)
        where = np.repeat(starts[:-1], len(salt)) + np.tile(np.arange(len(salt)), n)
        buf[where] = np.tile(salt, n)
    if len(packed.data):
        dest = np.repeat(starts[:-1] + len(prefix) - packed.offsets[:-1], lengths)
        buf[dest + np.arange(len(packed.data), dtype=np.int64)] = packed.data
    encryptor = _cipher().encryptor()
    cipher = encryptor.update(buf.tobytes()) + encryptor.finalize()
    return _Packed(np.frombuffer(cipher, dtype=np.uint8), starts)


def _encode_java(packed: _Packed) -> _Packed:
    """Base64 of every value with sun.misc.BASE64Encoder's line breaks."""
    lengths = packed.lengths
    groups = (lengths + 2) // 3
    group_starts = _starts(groups * 3)
    triples = np.zeros(group_starts[-1], dtype=np.uint8)
    triples[np.repeat(group_starts[:-1], lengths) + _within(lengths, packed.offsets)] = packed.data
    t = triples.reshape(-1, 3).astype(np.uint32)
    word = (t[:, 0] << 16) | (t[:, 1] << 8) | t[:, 2]
    chars = np.empty((len(word), 4), dtype=np.uint8)
    for i, shift in enumerate((18, 12, 6, 0)):
        chars[:, i] = _ALPHABET[(word >> shift) & 63]
    chars = chars.ravel()
    encoded = groups * 4
    char_starts = _starts(encoded)
    missing = (3 - lengths % 3) % 3
    chars[char_starts[1:][missing >= 1] - 1] = _EQ
    chars[char_starts[1:][missing == 2] - 2] = _EQ
    sized = encoded + lengths // _LINE_BYTES
    out_starts = _starts(sized)
    out = np.full(out_starts[-1], _NL, dtype=np.uint8)
    k = _within(encoded, char_starts)
    out[np.repeat(out_starts[:-1], encoded) + k + k // _LINE_CHARS] = chars
    return _Packed(out, out_starts)


def _decrypt_slice(values: pa.Array, prefix: bytes) -> pa.Array:
    packed = _pack(values)
    alive = np.arange(len(values), dtype=np.int64)
    for _ in range(ROUNDS):
        packed, kept = _decrypt_round(packed, prefix)
        alive = alive[kept]
        if not len(alive):
            return values
    decoded = _utf8(packed)
    if decoded is None:  # some final bytes are not UTF-8 (never for genuine values): keep those inputs
        bounds = zip(packed.offsets[:-1].tolist(), packed.offsets[1:].tolist(), strict=True)
        good = np.array([_is_utf8(packed.data[a:b].tobytes()) for a, b in bounds], dtype=bool)
        packed, alive = _select(packed, good), alive[good]
        decoded = _to_arrow(packed)
    mask = np.zeros(len(values), dtype=bool)
    mask[alive] = True
    return pc.replace_with_mask(values, pa.array(mask), decoded)


def _utf8(packed: _Packed) -> pa.Array | None:
    """The final plaintexts as strings, or None when some are not valid UTF-8."""
    text = _to_arrow(packed)
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return text


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decrypt_round(packed: _Packed, prefix: bytes) -> tuple[_Packed, np.ndarray]:
    """One round for every value; returns the survivors' plaintexts and their positions."""
    text, kept = _decode_base64(packed)
    if not len(kept):
        return text, kept
    lengths = text.lengths
    sized = (lengths > 0) & (lengths % _BLOCK == 0)
    text, kept = _select(text, sized), kept[sized]
    decryptor = _cipher().decryptor()
    plain = np.frombuffer(decryptor.update(text.data.tobytes()) + decryptor.finalize(), dtype=np.uint8)
    ends = text.offsets[1:]
    if not len(ends):
        return _Packed(plain, text.offsets), kept
    pad = plain[ends - 1].astype(np.int64)
    good = (pad >= 1) & (pad <= _BLOCK)
    tail = plain[ends[:, None] - _BLOCK + np.arange(_BLOCK)]
    in_pad = np.arange(_BLOCK)[None, :] >= (_BLOCK - pad)[:, None]
    good &= np.all((tail == pad[:, None].astype(np.uint8)) | ~in_pad, axis=1)
    good &= text.lengths - pad >= len(prefix)
    starts = text.offsets[:-1][good] + len(prefix)
    stops = ends[good] - pad[good]
    sizes = stops - starts
    new_offsets = _starts(sizes)
    data = plain[np.repeat(starts, sizes) + _within(sizes, new_offsets)]
    return _Packed(data, new_offsets), kept[good]


def _select(packed: _Packed, keep: np.ndarray) -> _Packed:
    lengths = packed.lengths
    data = packed.data[np.repeat(keep, lengths)]
    return _Packed(data, _starts(lengths[keep]))


def _decode_base64(packed: _Packed) -> tuple[_Packed, np.ndarray]:
    """Strict base64 decoding (whitespace ignored) of every value; invalid ones are dropped."""
    solid = ~_IS_SPACE[packed.data]
    cumulative = _starts(solid)
    offsets = cumulative[packed.offsets]
    chars = packed.data[solid]
    lengths = np.diff(offsets)
    sextets = _SEXTET[chars]
    is_pad = chars == _EQ
    pads = _segment_sums(is_pad, offsets)
    ok = (lengths > 0) & (lengths % 4 == 0) & (_segment_sums(sextets == _INVALID, offsets) == 0) & (pads <= 2)
    last = np.where(ok, offsets[1:] - 1, 0)
    second = np.where(ok, offsets[1:] - 2, 0)
    ok &= (pads < 1) | is_pad[last]
    ok &= (pads < 2) | is_pad[second]
    kept = np.flatnonzero(ok)
    sextets = sextets[np.repeat(ok, lengths)]
    sextets[sextets == 64] = 0
    q = sextets.reshape(-1, 4).astype(np.uint32)
    word = (q[:, 0] << 18) | (q[:, 1] << 12) | (q[:, 2] << 6) | q[:, 3]
    raw = np.empty((len(word), 3), dtype=np.uint8)
    raw[:, 0] = (word >> 16) & 255
    raw[:, 1] = (word >> 8) & 255
    raw[:, 2] = word & 255
    raw = raw.ravel()
    full = lengths[kept] // 4 * 3
    sizes = full - pads[kept]
    full_starts = _starts(full)
    new_offsets = _starts(sizes)
    data = raw[np.repeat(full_starts[:-1], sizes) + _within(sizes, new_offsets)]
    return _Packed(data, new_offsets), kept
