"""Report storage through fsspec: a local folder by default, any fsspec URL (s3://, gs://, az://) in production.

Publication is atomic: a reader sees either no object or the complete one. On a local folder the file is
written under a hidden `.incoming/` folder of the same filesystem and then renamed into place (rename is
atomic). On object stores a PUT (or a completed multipart upload) only becomes visible when whole, so the
upload goes straight to the final key; a crashed upload leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from exhaust.errors import BadInput, SettingError, StorageUnavailable
from exhaust.extras import require

if TYPE_CHECKING:  # fsspec is imported when a storage is opened (`exhaust status` of a queued job never does)
    import fsspec

INCOMING = ".incoming"
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:=+@,-]*$")


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative object key (no `..`, no absolute path, plain characters)."""
    parts = key.split("/")
    if not key or any(not _SEGMENT.match(part) or part in {".", ".."} for part in parts):
        raise BadInput(f"invalid object key {key!r}")
    return key


class Storage:
    """One storage location (folder or bucket prefix) holding report objects under relative keys."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        if not url:
            raise BadInput("no storage URL configured")
        self.url = url
        protocol = url.split("://", 1)[0] if "://" in url else "file"
        if protocol in ("s3", "s3a"):
            require("s3", "S3 storage")
        import fsspec

        try:
            self.fs: fsspec.AbstractFileSystem = fsspec.filesystem(protocol, **(options or {}))
        except (ValueError, TypeError, ImportError) as exc:
            raise SettingError(
                f"setting EXHAUST_STORAGE_URL / EXHAUST_STORAGE_OPTIONS is invalid: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'unusable'}"
            ) from None
        root = url.split("://", 1)[1] if "://" in url else url
        if self.is_local:
            root = str(Path(root).expanduser().resolve())
        self.root = root.rstrip("/")

    @property
    def is_local(self) -> bool:
        """True for a folder on this machine (links are then HMAC-signed and served by the API)."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        return "file" in protocols or "local" in protocols

    def path(self, key: str) -> str:
        """The filesystem path of `key` (validated)."""
        return f"{self.root}/{validate_key(key)}"

    def local_path(self, key: str) -> Path | None:
        """The local file of `key` for a folder store (the API serves it), else None."""
        return Path(self.path(key)) if self.is_local else None

    def publish(self, local: Path, key: str) -> int:
        """Copy the finished file `local` to `key` atomically; returns its size in bytes.

        A store that cannot be written raises StorageUnavailable (transient: the job is retried and
        `local` is kept for the retry).
        """
        target = self.path(key)
        size = local.stat().st_size
        try:
            self._publish(local, key, target)
        except (BadInput, StorageUnavailable):
            raise
        except Exception as exc:
            raise StorageUnavailable(
                f"publishing {key} to {self.url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return size

    def check_writable(self) -> None:
        """Write and remove a small probe object; StorageUnavailable when the store cannot take files.

        Called before a build, so a read-only, full or unreachable store costs no build at all.
        """
        probe = f"{INCOMING}/probe-{uuid.uuid4().hex}"
        try:
            if self.is_local:
                incoming = Path(self.root) / INCOMING
                incoming.mkdir(parents=True, exist_ok=True)
                path = Path(self.root) / probe
                with open(path, "wb") as handle:
                    handle.write(b"exhaust write probe\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()
            else:
                self.fs.pipe_file(f"{self.root}/{probe}", b"exhaust write probe\n")
                self.fs.rm_file(f"{self.root}/{probe}")
        except Exception as exc:
            raise StorageUnavailable(
                f"report storage {self.url} is not writable: {type(exc).__name__}: {exc}"
            ) from exc

    def _publish(self, local: Path, key: str, target: str) -> None:
        if self.is_local:
            incoming = Path(self.root) / INCOMING
            incoming.mkdir(parents=True, exist_ok=True)
            temp = incoming / f"{uuid.uuid4().hex}.part"
            try:
                self.fs.put_file(str(local), str(temp))
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
        else:
            self.fs.put_file(str(local), target)

    def exists(self, key: str) -> bool:
        path = self.path(key)
        if not self.is_local:
            self.fs.invalidate_cache(path)  # another process may have published it since
        return bool(self.fs.exists(path))

    def size(self, key: str) -> int:
        return int(self.fs.size(self.path(key)))

    def open(self, key: str) -> IO[bytes]:
        """A binary reader of the object (for serving or checking a download)."""
        return self.fs.open(self.path(key), "rb")

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def delete(self, key: str) -> None:
        if self.exists(key):
            self.fs.rm_file(self.path(key))

    def list(self, prefix: str = "") -> list[str]:
        """All published keys under `prefix` (never the in-flight `.incoming/` files), sorted."""
        base = self.root if not prefix else f"{self.root}/{prefix.strip('/')}"
        if not self.is_local:
            self.fs.invalidate_cache(base)
        if not self.fs.exists(base):
            return []
        root = self.root if self.is_local else self.fs._strip_protocol(self.root)
        keys = []
        for found in self.fs.find(base):
            relative = str(found)[len(root) :].lstrip("/")
            if not relative.startswith(f"{INCOMING}/"):
                keys.append(relative)
        return sorted(keys)

    def sign(self, key: str, expires_in: int) -> str:
        """A native presigned URL (object stores only); local stores are signed by `signing.py`."""
        if self.is_local:
            raise BadInput("local storage has no native signed URLs")
        return str(self.fs.sign(self.path(key), expiration=expires_in))

    def clean_incoming(self, older_than_seconds: float = 3600) -> int:
        """Remove files a crashed upload left in `.incoming/` (local stores); returns how many."""
        if not self.is_local:
            return 0
        incoming = Path(self.root) / INCOMING
        if not incoming.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for part in incoming.glob("*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def open_storage(settings: Any) -> Storage:
    """The storage configured in settings (default: `<data_dir>/reports`)."""
    url = settings.storage_url or str(Path(settings.data_dir) / "reports")
    return Storage(url, settings.storage_options)
