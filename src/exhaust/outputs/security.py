"""Tenant security levels of report files (SPEC §4.3, research §6.3), byte-compatible with Sunbird.

A tenant (channel) may want more than a zip password: Sunbird's TEXT_KEY and PUBLIC_KEY levels encrypt the
CSV itself so that only the key holder can read it, even if the zip leaks. The encrypted file layout is
Sunbird's, so tools written for Sunbird files decrypt ours:

    line 1: the level name, e.g. ``TEXT_KEY_ENCRYPTED_DATASET``
    line 2: base64 of the wrapped file key
    rest:   AES-256/CBC/PKCS#7 (zero IV) of the CSV bytes under the file key

The file key is PBKDF2-HMAC-SHA256 of a random UUID string with a 128-byte random salt (1000 iterations,
256 bits); a zero IV is safe only because every file has its own random key. TEXT_KEY wraps the file key
with AES-256/CBC (zero IV) under the ASCII of the upper-case hex MD5 of the password; PUBLIC_KEY wraps it
with RSA PKCS#1 v1.5 under the tenant's PEM public key.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from exhaust.errors import BadInput, ExhaustError
from exhaust.outputs.zipping import zip_report

WILDCARD = "*"
ZERO_IV = bytes(16)
CHUNK = 1 << 20


class SecurityLevel(enum.StrEnum):
    """Sunbird's `dataSecurityPolicy` levels."""

    PLAIN_DATASET = "PLAIN_DATASET"
    PASSWORD_PROTECTED_DATASET = "PASSWORD_PROTECTED_DATASET"
    TEXT_KEY_ENCRYPTED_DATASET = "TEXT_KEY_ENCRYPTED_DATASET"
    PUBLIC_KEY_ENCRYPTED_DATASET = "PUBLIC_KEY_ENCRYPTED_DATASET"


DEFAULT_LEVEL = SecurityLevel.PASSWORD_PROTECTED_DATASET


def level_for(settings: Any, channel: str, dataset: str) -> SecurityLevel:
    """The configured level of `dataset` for `channel`; the most specific entry of `security_levels` wins.

    Order: channel+dataset, channel+*, *+dataset, *+*, then PASSWORD_PROTECTED_DATASET (a zip with a
    password when the request has a key), which is what exhaust did before levels existed.
    """
    table: dict[str, dict[str, str]] = getattr(settings, "security_levels", None) or {}
    for chan, data in ((channel, dataset), (channel, WILDCARD), (WILDCARD, dataset), (WILDCARD, WILDCARD)):
        value = (table.get(chan) or {}).get(data)
        if value:
            try:
                return SecurityLevel(value.strip().upper())
            except ValueError:
                names = ", ".join(level.value for level in SecurityLevel)
                raise BadInput(f"unknown security level {value!r} configured: use one of {names}") from None
    return DEFAULT_LEVEL


# ---- file format -----------------------------------------------------------------------------------
def _file_key() -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=os.urandom(128), iterations=1000)
    return kdf.derive(str(uuid.uuid4()).encode("ascii"))


def _text_key(password: str) -> bytes:
    """Sunbird's wrapping key: the 32 ASCII bytes of the upper-case hex MD5 of the password (AES-256)."""
    return hashlib.md5(password.encode("utf-8")).hexdigest().upper().encode("ascii")


def _aes(key: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV))
    if decrypt:
        decryptor = cipher.decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()
    padder = padding.PKCS7(128).padder()
    encryptor = cipher.encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def _encrypted_chunks(csv: Path, file_key: bytes) -> Iterator[bytes]:
    """The CSV encrypted in 1 MiB steps, so a large report never sits in memory whole."""
    encryptor = Cipher(algorithms.AES(file_key), modes.CBC(ZERO_IV)).encryptor()
    padder = padding.PKCS7(128).padder()
    with open(csv, "rb") as handle:
        while block := handle.read(CHUNK):
            yield encryptor.update(padder.update(block))
    yield encryptor.update(padder.finalize()) + encryptor.finalize()


def _write(csv: Path, out: Path, level: SecurityLevel, file_key: bytes, wrapped: bytes) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        handle.write(f"{level.value}\n".encode("ascii"))
        handle.write(base64.b64encode(wrapped) + b"\n")
        for chunk in _encrypted_chunks(csv, file_key):
            handle.write(chunk)
    return out


def _read(path: Path, level: SecurityLevel) -> tuple[bytes, bytes]:
    """(wrapped key, encrypted CSV) of a file written at `level`."""
    data = Path(path).read_bytes()
    parts = data.split(b"\n", 2)
    if len(parts) != 3 or parts[0].decode("ascii", "replace").strip() != level.value:
        raise BadInput(f"{Path(path).name} is not a {level.value} file")
    return base64.b64decode(parts[1].strip()), parts[2]


def encrypt_text_key(csv: Path, out: Path, password: str) -> Path:
    """Write `out`: `csv` encrypted at TEXT_KEY_ENCRYPTED_DATASET under `password`."""
    if not password:
        raise BadInput("a text-key encrypted file needs a password")
    file_key = _file_key()
    wrapped = _aes(_text_key(password), file_key)
    return _write(csv, out, SecurityLevel.TEXT_KEY_ENCRYPTED_DATASET, file_key, wrapped)


def encrypt_public_key(csv: Path, out: Path, pem: bytes) -> Path:
    """Write `out`: `csv` encrypted at PUBLIC_KEY_ENCRYPTED_DATASET for the RSA key in `pem` (X.509 SPKI)."""
    try:
        public = load_pem_public_key(pem)
    except ValueError:
        raise BadInput("the configured public key is not a PEM public key") from None
    if not isinstance(public, rsa.RSAPublicKey):
        raise BadInput("the configured public key is not an RSA key")
    file_key = _file_key()
    wrapped = public.encrypt(file_key, PKCS1v15())
    return _write(csv, out, SecurityLevel.PUBLIC_KEY_ENCRYPTED_DATASET, file_key, wrapped)


def decrypt_text_key(path: Path, password: str) -> bytes:
    """The CSV bytes of a TEXT_KEY_ENCRYPTED_DATASET file (for tests and operators)."""
    wrapped, body = _read(path, SecurityLevel.TEXT_KEY_ENCRYPTED_DATASET)
    try:
        file_key = _aes(_text_key(password), wrapped, decrypt=True)
        return _aes(file_key, body, decrypt=True)
    except ValueError:
        raise BadInput("the file does not decrypt with this password") from None


def decrypt_private_key(path: Path, private_pem: bytes, passphrase: bytes | None = None) -> bytes:
    """The CSV bytes of a PUBLIC_KEY_ENCRYPTED_DATASET file, given the tenant's RSA private key (PEM)."""
    wrapped, body = _read(path, SecurityLevel.PUBLIC_KEY_ENCRYPTED_DATASET)
    private = load_pem_private_key(private_pem, password=passphrase)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise BadInput("the private key is not an RSA key")
    try:
        file_key = private.decrypt(wrapped, PKCS1v15())
        return _aes(file_key, body, decrypt=True)
    except ValueError:
        raise BadInput("the file does not decrypt with this private key") from None


# ---- the worker's entry point ----------------------------------------------------------------------
def _public_pem(settings: Any, channel: str) -> bytes:
    keys: dict[str, str] = getattr(settings, "public_keys", None) or {}
    location = keys.get(channel) or keys.get(WILDCARD)
    if not location:
        raise ExhaustError(
            f"channel {channel or '(none)'} requires public-key encrypted files but has no public key configured"
        )
    try:
        return Path(location).expanduser().read_bytes()
    except OSError:
        raise ExhaustError(f"the public key file of channel {channel} cannot be read") from None


def secure_zip(
    csv: Path,
    zip_path: Path,
    *,
    settings: Any,
    channel: str,
    dataset: str,
    password: str | None,
    personal: bool = False,
) -> SecurityLevel:
    """Write the zip of one report at its tenant's level; returns the level applied.

    `password` is the request's (already decrypted) key. `personal` datasets (user details) are never
    delivered as PLAIN: that level is raised to PASSWORD_PROTECTED for them.
    """
    level = level_for(settings, channel, dataset)
    if level is SecurityLevel.PLAIN_DATASET and personal:
        level = SecurityLevel.PASSWORD_PROTECTED_DATASET
    if level is SecurityLevel.PLAIN_DATASET:
        zip_report(csv, zip_path)
        return level
    if level is SecurityLevel.PASSWORD_PROTECTED_DATASET:
        zip_report(csv, zip_path, password=password, encryption=settings.zip_encryption)
        return level
    # The encrypted file keeps the CSV's name inside the zip, as Sunbird's does.
    sealed = zip_path.parent / f"{zip_path.stem}.sealed" / csv.name
    try:
        if level is SecurityLevel.TEXT_KEY_ENCRYPTED_DATASET:
            if not password:
                raise ExhaustError(
                    f"{dataset} files of this channel are encrypted with the request's key: "
                    "the request needs an encryption key"
                )
            encrypt_text_key(csv, sealed, password)
        else:
            encrypt_public_key(csv, sealed, _public_pem(settings, channel))
        zip_report(sealed, zip_path)
    finally:
        sealed.unlink(missing_ok=True)
        if sealed.parent.exists():
            sealed.parent.rmdir()
    return level
