"""Zip a report CSV, optionally behind a password.

ZipCrypto is the default because every desktop (Windows Explorer, macOS Archive Utility) opens it; it is
weak cryptography, so AES-256 (WinZip AE-2, via pyzipper) is one setting away for deployments whose users
have 7-Zip or similar. The standard library writes neither, hence pyminizip and pyzipper.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

import pyminizip
import pyzipper

from exhaust.errors import BadInput

ZipEncryption = Literal["zipcrypto", "aes256"]
COMPRESS_LEVEL = 6


def zip_report(
    csv_path: Path,
    zip_path: Path,
    *,
    password: str | None = None,
    encryption: ZipEncryption = "zipcrypto",
) -> Path:
    """Write `zip_path` holding `csv_path` under its own file name; encrypted when a password is given."""
    if password is not None and password == "":
        raise BadInput("the zip password is empty")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    zip_path.unlink(missing_ok=True)
    if password is None:
        with zipfile.ZipFile(
            zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as zf:
            zf.write(csv_path, arcname=csv_path.name)
    elif encryption == "zipcrypto":
        # pyminizip stores the entry under its base name when the prefix is empty.
        pyminizip.compress(str(csv_path), "", str(zip_path), password, COMPRESS_LEVEL)
    elif encryption == "aes256":
        with pyzipper.AESZipFile(
            zip_path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as zf:
            zf.setpassword(password.encode("utf-8"))
            zf.setencryption(pyzipper.WZ_AES, nbits=256)
            zf.write(csv_path, arcname=csv_path.name)
    else:
        raise BadInput(f"unknown zip encryption {encryption!r}: use zipcrypto or aes256")
    return zip_path
