"""Expiring download links: presigned URLs on object stores, HMAC-signed `/download/…` paths locally.

Links are signed on every read, so a stored job keeps only relative keys and a leaked link dies after
`url_expiry_minutes`. The local form is `/download/<key>?expires=<unix seconds>&signature=<hex>`, where the
signature is HMAC-SHA256 over `<key>\\n<expires>` with a secret every API and worker process shares.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from exhaust.errors import ExhaustError
from exhaust.outputs.storage import Storage, validate_key

SECRET_FILE = "signing-secret"


class InvalidDownloadLink(ExhaustError):
    """A download link whose signature does not match (tampered or from another deployment)."""

    exit_code = 2

    def __init__(self) -> None:
        super().__init__("This download link is not valid.")


class ExpiredDownloadLink(ExhaustError):
    """A download link past its expiry time."""

    exit_code = 2

    def __init__(self) -> None:
        super().__init__("This download link has expired; read the request again for a fresh link.")


def load_signing_secret(settings: Any) -> bytes:
    """The configured secret, else one generated once and kept (mode 0600) in the data folder."""
    configured = settings.signing_secret.get_secret_value()
    if configured:
        return configured.encode("utf-8")
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read its secret
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    for _ in range(50):  # the winner may still be writing
        text = path.read_text().strip()
        if text:
            return text.encode("utf-8")
        time.sleep(0.01)
    raise ExhaustError(f"the signing secret file {path} is empty")


def signature(key: str, expires: int, secret: bytes) -> str:
    """Hex HMAC-SHA256 of a key and its expiry time."""
    return hmac.new(secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def local_download_url(key: str, *, expires: int, secret: bytes, base_url: str = "") -> str:
    """The HMAC-signed `/download/<key>` URL (relative unless a base URL is configured)."""
    validate_key(key)
    path = quote(key, safe="/")
    return f"{base_url.rstrip('/')}/download/{path}?expires={expires}&signature={signature(key, expires, secret)}"


def verify_download(
    key: str, expires: str | int, signature_hex: str, *, secret: bytes, now: float | None = None
) -> None:
    """Accept a local download link or raise InvalidDownloadLink / ExpiredDownloadLink."""
    try:
        validate_key(key)
        when = int(expires)
    except (ValueError, ExhaustError):
        raise InvalidDownloadLink() from None
    given = str(signature_hex).encode("utf-8", "surrogatepass")  # any text: compared as bytes
    if not hmac.compare_digest(signature(key, when, secret).encode("ascii"), given):
        raise InvalidDownloadLink()
    if (time.time() if now is None else now) >= when:
        raise ExpiredDownloadLink()


def object_key(stored: str) -> str:
    """The object key of a `download_urls` entry: relative keys as they are, Sunbird's older full URLs cut.

    Sunbird rows may hold `https://host/container/key…` (drop scheme, host and container) or
    `wasb://container@account/key…` / `s3n://bucket/key…` (drop scheme and host).
    """
    if "http" in stored.split("/", 1)[0]:
        return "/".join(stored.split("?", 1)[0].split("/")[4:])
    if stored.startswith(("wasb", "s3n", "s3:", "gs:")):
        return "/".join(stored.split("/")[3:])
    return stored.lstrip("/")


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: int  # unix seconds


class UrlSigner:
    """Turns stored keys into expiring URLs for one storage location.

    Given a function instead of a storage, it opens the storage (and reads the signing secret) on the
    first link it signs: a read whose jobs carry no files (`exhaust status` of a queued job) never does.
    """

    def __init__(self, storage: Storage | Callable[[], Storage], settings: Any) -> None:
        self.expiry_seconds = int(settings.url_expiry_minutes) * 60
        self.base_url = settings.download_base_url
        self._settings = settings
        self._open = storage if callable(storage) and not isinstance(storage, Storage) else None
        if isinstance(storage, Storage):
            self.storage = storage
            _ = self._secret  # read now, as before: a bad secret file fails at start

    @cached_property
    def storage(self) -> Storage:
        assert self._open is not None
        return self._open()

    @cached_property
    def _secret(self) -> bytes:
        return load_signing_secret(self._settings) if self.storage.is_local else b""

    def expires_at(self, now: float | None = None) -> int:
        return int(time.time() if now is None else now) + self.expiry_seconds

    def sign(self, stored: str, now: float | None = None) -> SignedUrl:
        """A fresh expiring URL for one `download_urls` entry."""
        key = object_key(stored)
        expires = self.expires_at(now)
        if self.storage.is_local:
            return SignedUrl(
                local_download_url(key, expires=expires, secret=self._secret, base_url=self.base_url), expires
            )
        return SignedUrl(self.storage.sign(key, self.expiry_seconds), expires)

    def verify(self, key: str, expires: str | int, signature_hex: str) -> None:
        """Check a local `/download/` link (what the API calls before serving a file)."""
        verify_download(key, expires, signature_hex, secret=self._secret)
