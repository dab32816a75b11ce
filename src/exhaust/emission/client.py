"""`exhaust emit`: cQube's emission client, with what it lacks (research §2, §8).

The same three settings (token, folder, emission URL). Files are keyed `<data_source_dir>/<file>`
whatever the folder given (the whole `cqube_emission/`, one data-source folder, or one file) and its
trailing slash; each is checked against its data source's spec before anything is sent; CSVs are zipped;
files go in the dependency order of seed 004; every HTTP answer is checked, transient failures
(connection errors, 5xx, 429) retried with back-off, and one refused file never stops the others. Each
outcome is one JSON line in the result log.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from exhaust.emission.spec import DataSource, known_dirs, source_for_key
from exhaust.emission.validate import choose_variant
from exhaust.errors import BadInput, EmittedFileRejected

SENT, FAILED, SKIPPED, CHECKED = "sent", "failed", "skipped", "checked"
BACKOFF_START, BACKOFF_MAX = 0.5, 30.0


@dataclass
class Planned:
    """One file found in the folder: what it will be sent as, or why it is not sent."""

    path: Path
    key: str  # <data_source_dir>/<file> as sent to upload-url
    source: DataSource | None
    problem: str | None = None

    @property
    def rank(self) -> tuple[int, str]:
        return (self.source.rank if self.source else 10_000, self.key)


@dataclass
class Outcome:
    """One line of the result log."""

    file: str
    data_source: str | None
    key: str | None
    status: str
    bytes: int = 0
    sha256: str | None = None
    attempts: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        record = asdict(self)
        record.pop("extra")
        return json.dumps(record, sort_keys=False)


# ---- finding and checking ----------------------------------------------------------------------
def collect(folder: Path) -> list[tuple[Path, str]]:
    """Every file under `folder` with its relative key `<data_source_dir>/<file>` (sorted by key).

    `folder` is a `cqube_emission/` folder (keys `<sub>/<file>`), one data-source folder (its name is
    the `<data_source_dir>`), or one file (keyed by its folder's name when that is a data-source folder,
    else by its bare name, as cQube's bare DIKSHA names are).
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise BadInput(f"{folder} does not exist")
    dirs = known_dirs()
    if folder.is_file():
        parent = folder.resolve().parent.name
        return [(folder, f"{parent}/{folder.name}" if parent in dirs else folder.name)]
    found = []
    if folder.resolve().name in dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found.append((path, f"{folder.resolve().name}/{path.name}"))
        return found
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder).parts
        found.append((path, path.name if len(relative) == 1 else f"{relative[0]}/{path.name}"))
    return sorted(found, key=lambda item: item[1])


def _first_line(handle: io.BufferedIOBase) -> str:
    for raw in handle:
        line = raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")
        if line.strip():
            return line
        if len(raw) > 1 << 20:
            break
    raise EmittedFileRejected("the file is empty")


def check(path: Path, key: str) -> Planned:
    """Check one file against its data source's spec (delimiter, required columns, one CSV per zip)."""
    if path.name.startswith("."):
        return Planned(path, key, None, "hidden file")
    source = source_for_key(key)
    if source is None:
        return Planned(path, key, None, "unknown data source (no spec for this folder and file name)")
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                entries = [
                    e for e in archive.infolist() if not e.is_dir() and not e.filename.startswith("__MACOSX")
                ]
                if len(entries) != 1 or not entries[0].filename.lower().endswith(".csv"):
                    raise EmittedFileRejected("the zip must hold exactly one CSV file")
                if entries[0].flag_bits & 0x1:
                    raise EmittedFileRejected("the zip is password-protected")
                with archive.open(entries[0]) as handle:
                    choose_variant(source, _first_line(handle))  # type: ignore[arg-type]
        elif name.endswith(".csv"):
            with path.open("rb") as handle:
                choose_variant(source, _first_line(handle))  # type: ignore[arg-type]
        else:
            raise EmittedFileRejected("only .zip or .csv files are emitted")
    except EmittedFileRejected as exc:
        return Planned(path, key, source, exc.message)
    except (zipfile.BadZipFile, OSError):
        return Planned(path, key, source, "the file is not a readable zip")
    if name.endswith(".csv"):
        key = key[: -len(".csv")] + ".zip"
    return Planned(path, key, source)


def plan(folder: Path) -> list[Planned]:
    """All files of `folder`, checked, in emission order (refused ones last)."""
    checked = [check(path, key) for path, key in collect(folder)]
    good = sorted((p for p in checked if p.problem is None), key=lambda p: p.rank)
    bad = [p for p in checked if p.problem is not None]
    return good + bad


# ---- sending -----------------------------------------------------------------------------------
class Transient(Exception):
    """Worth another try: a connection error, a 5xx or a 429."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """A 4xx answer: this file fails, the others go on."""


def _message(response: httpx.Response) -> str:
    text = response.text[:500]
    try:
        body = response.json()
        if isinstance(body, dict):
            return str(body.get("message") or body.get("params", {}).get("errmsg") or text)
    except ValueError:
        pass
    found = re.search(r"<Message>(.*?)</Message>", text, re.S)
    return found.group(1).strip() if found else text.strip() or response.reason_phrase


def _classify(response: httpx.Response, what: str) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        after = response.headers.get("retry-after", "")
        raise Transient(f"{what} answered {response.status_code}", float(after) if after.isdigit() else None)
    if response.status_code >= 400:
        raise Refused(f"{what} answered {response.status_code}: {_message(response)}")


def _zipped(planned: Planned, work: Path) -> Path:
    if planned.path.name.lower().endswith(".zip"):
        return planned.path
    target = work / (planned.path.stem + ".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(planned.path, planned.path.name)
    return target


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
            size += len(block)
    return size, sha.hexdigest()


def send_one(
    client: httpx.Client,
    base_url: str,
    token: str,
    planned: Planned,
    *,
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Presign and upload one file, retrying transient failures; never raises for a failed file."""
    outcome = Outcome(str(planned.path), planned.source.name if planned.source else None, planned.key, FAILED)
    with tempfile.TemporaryDirectory(prefix="exhaust-emit-") as work:
        upload = _zipped(planned, Path(work))
        outcome.bytes, outcome.sha256 = _digest(upload)
        delay = BACKOFF_START
        while True:
            outcome.attempts += 1
            try:
                response = client.post(
                    f"{base_url}/upload-url",
                    headers={"Authorization": f"Bearer {token}"},
                    data={"filename": planned.key},
                )
                _classify(response, "upload-url")
                try:
                    answer = response.json()
                    url, fields = answer["url"], answer["fields"]
                except (ValueError, KeyError, TypeError):
                    raise Refused("upload-url did not answer with a presigned upload") from None
                with upload.open("rb") as handle:
                    stored = client.post(url, data=fields, files={"file": (upload.name, handle)})
                _classify(stored, "the upload")
                outcome.status, outcome.key, outcome.error = SENT, str(fields.get("key", planned.key)), None
                return outcome
            except Refused as exc:
                outcome.error = str(exc)
                return outcome
            except (Transient, httpx.TransportError) as exc:
                outcome.error = (
                    str(exc) if isinstance(exc, Transient) else f"connection failed ({type(exc).__name__})"
                )
                if outcome.attempts > retries:
                    return outcome
                wait = exc.retry_after if isinstance(exc, Transient) and exc.retry_after else delay
                sleep(min(wait, BACKOFF_MAX))
                delay = min(delay * 2, BACKOFF_MAX)


def emit(
    planned: list[Planned],
    base_url: str,
    token: str,
    *,
    retries: int = 5,
    timeout: float = 120.0,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Outcome]:
    """Send the planned files in order (or, with `dry_run`, only report them), one outcome each."""
    base_url = base_url.rstrip("/")
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for item in planned:
            if item.problem is not None:
                yield Outcome(
                    str(item.path),
                    item.source.name if item.source else None,
                    item.key,
                    SKIPPED,
                    error=item.problem,
                )
            elif dry_run:
                size, digest = _digest(item.path)
                yield Outcome(
                    str(item.path), item.source.name if item.source else None, item.key, CHECKED, size, digest
                )
            else:
                yield send_one(client, base_url, token, item, retries=retries, sleep=sleep)
