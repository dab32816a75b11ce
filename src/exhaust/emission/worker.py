"""The ingestion worker: every emitted object claimed once, moved to the input area, unzipped, ingested.

An object's life (research §4.2): seen in the emission area -> a WAITING row in `emission_object`
(its future input key fixed now) -> CLAIMED by one worker under a lease -> copied to the input area and
deleted from the emission area -> its CSV checked and upserted -> DONE. The upsert, the `log_summary`
row and the DONE mark commit in one transaction that also checks the lease is still ours, so two
workers, or a worker killed at any point, never ingest a file twice or lose it: a dead worker's lease
runs out and another worker redoes the object from wherever it had got to (every step is idempotent).
Objects wait in emission order (masters first), then in the order they were seen.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from exhaust.emission.areas import Areas, error_key, input_key, open_areas
from exhaust.emission.ingest import IngestResult, check_file, reject, store_result
from exhaust.emission.spec import ORDER, source_for_key
from exhaust.emission.tables import emission_object, open_cqube_engine
from exhaust.errors import EmittedFileRejected
from exhaust.jobs.db import utcnow

log = logging.getLogger(__name__)
WAITING, CLAIMED, DONE = "WAITING", "CLAIMED", "DONE"
MAX_ATTEMPTS = 5


class LeaseLost(Exception):
    """Another worker took the object over (our lease ran out): this worker's work is rolled back."""


def discover(engine: Engine, areas: Areas, timezone: str) -> int:
    """Add a WAITING row for every object in the emission area not seen before; returns how many."""
    keys = areas.emission.list()
    if not keys:
        return 0
    now = utcnow()
    rows = []
    for key in keys:
        source = source_for_key(key)
        folder = key.split("/", 1)[0] if "/" in key else (source.dirs[0] if source else "unknown")
        rows.append(
            {
                "emission_key": key,
                "state": WAITING,
                "rank": source.rank if source else len(ORDER),
                "ff_uuid": uuid.uuid4().hex,
                "input_key": input_key(key, folder or "unknown", now, timezone),
                "attempts": 0,
                "seen_at": now,
            }
        )
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    with engine.begin() as conn:
        statement = dialect.insert(emission_object).on_conflict_do_nothing(index_elements=["emission_key"])
        added = conn.execute(statement, rows).rowcount
    return max(int(added or 0), 0)


def claim(engine: Engine, owner: str, lease_seconds: float) -> sa.Row | None:
    """Take the first waiting object (or one whose holder's lease ran out) under a fresh lease."""
    now = utcnow()
    table = emission_object
    with engine.begin() as conn:
        query = (
            sa.select(table)
            .where(
                sa.or_(
                    table.c.state == WAITING,
                    sa.and_(table.c.state == CLAIMED, table.c.lease_expires_at < now),
                )
            )
            .order_by(table.c.rank, table.c.seen_at, table.c.emission_key)
            .limit(1)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        conn.execute(
            sa.update(table)
            .where(table.c.emission_key == row.emission_key)
            .values(
                state=CLAIMED,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=table.c.attempts + 1,
            )
        )
    return row


def _finish(conn: sa.Connection, key: str, owner: str) -> None:
    done = conn.execute(
        sa.update(emission_object)
        .where(
            emission_object.c.emission_key == key,
            emission_object.c.lease_owner == owner,
            emission_object.c.state == CLAIMED,
        )
        .values(state=DONE, done_at=utcnow(), lease_expires_at=None)
    )
    if done.rowcount != 1:
        raise LeaseLost(key)


def unpack(path: Path, work: Path) -> Path:
    """The CSV of an emitted object: the object itself, or the one CSV of its zip, named after the zip."""
    name = path.name.lower()
    if name.endswith(".csv"):
        return path
    if not name.endswith(".zip"):
        raise EmittedFileRejected("only .zip (or .csv) files are ingested")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [
                e for e in archive.infolist() if not e.is_dir() and not e.filename.startswith("__MACOSX")
            ]
            if len(entries) != 1:
                raise EmittedFileRejected(f"the zip holds {len(entries)} files; emit one CSV per zip")
            if entries[0].flag_bits & 0x1:
                raise EmittedFileRejected("the zip is password-protected")
            target = work / (path.name.rsplit(".", 1)[0] + ".csv")  # cQube names the entry after the zip
            with archive.open(entries[0]) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            return target
    except zipfile.BadZipFile:
        raise EmittedFileRejected("the file is not a readable zip") from None


def process(engine: Engine, areas: Areas, row: sa.Row, owner: str) -> IngestResult:
    """Move one claimed object to the input area and ingest it (see the module docstring)."""
    key, in_key = row.emission_key, row.input_key
    filename = key.split("/", 1)[-1]
    source = source_for_key(key)
    fields: dict[str, Any] = {"ff_uuid": row.ff_uuid, "emission_key": key, "input_key": in_key}
    if row.attempts >= MAX_ATTEMPTS:  # it failed (or killed its worker) every time: stop trying
        with engine.begin() as conn:
            reason = f"ingestion failed {row.attempts} times; emit the file again"
            result = reject(conn, source.name if source else "", filename, reason, **fields)
            _finish(conn, key, owner)
        return result
    with tempfile.TemporaryDirectory(prefix="exhaust-ingest-") as tmp:
        work = Path(tmp)
        local = work / key.rsplit("/", 1)[-1]
        if areas.emission.exists(key):
            _copy_out(areas.emission, key, local)
            areas.input.publish(local, in_key)
            areas.emission.delete(key)
        elif areas.input.exists(in_key):  # moved by a worker that died before it finished
            _copy_out(areas.input, in_key, local)
        else:
            with engine.begin() as conn:
                result = reject(
                    conn, source.name if source else "", filename, "the emitted file vanished", **fields
                )
                _finish(conn, key, owner)
            return result
        if source is None:
            with engine.begin() as conn:
                result = reject(
                    conn,
                    "",
                    filename,
                    "unknown data source (no spec for this folder and file name)",
                    **fields,
                )
                _finish(conn, key, owner)
            return result
        try:
            csv_path = unpack(local, work)
        except EmittedFileRejected as exc:
            with engine.begin() as conn:
                result = reject(conn, source.name, filename, exc.message, **fields)
                _finish(conn, key, owner)
            return result
        errors = work / "errors.csv"
        result = check_file(
            source, csv_path, filename=filename, error_path=errors, error_file=error_key(in_key), **fields
        )
        with engine.begin() as conn:
            store_result(conn, result)
            if result.error_file:
                areas.output.publish(errors, result.error_file)
            _finish(conn, key, owner)
    return result


def _copy_out(storage, key: str, local: Path) -> None:
    with storage.open(key) as source, local.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run(
    settings: Any,
    *,
    once: bool = False,
    on_result: Callable[[IngestResult], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[int, int]:
    """Ingest emitted files until stopped (or, with `once`, until none is waiting).

    Returns (files ingested, transient failures). A transient failure (store or database down)
    leaves the object claimed; it is retried when the lease runs out.
    """
    engine = open_cqube_engine(settings)
    areas = open_areas(settings)
    owner = worker_id()
    done = failed = 0
    while not should_stop():
        try:
            discover(engine, areas, settings.timezone)
            row = claim(engine, owner, settings.emission_lease_seconds)
        except (sa.exc.OperationalError, OSError) as exc:
            log.warning("emission ingest: cannot look for files (%s); retrying", type(exc).__name__)
            failed += 1
            if once:
                return done, failed
            time.sleep(settings.emission_poll_seconds)
            continue
        if row is None:
            if once:
                return done, failed
            time.sleep(settings.emission_poll_seconds)
            continue
        try:
            result = process(engine, areas, row, owner)
        except LeaseLost:
            log.warning("emission ingest: %s was taken over by another worker", row.emission_key)
            continue
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            log.warning(
                "emission ingest: %s failed (%s); retried later", row.emission_key, type(exc).__name__
            )
            failed += 1
            continue
        done += 1
        if on_result:
            on_result(result)
    return done, failed


def open_worker_parts(settings: Any) -> tuple[Engine, Areas]:
    return open_cqube_engine(settings), open_areas(settings)
