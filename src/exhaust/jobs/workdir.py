"""Work files of running jobs: one folder per job under a root the workers own (`EXHAUST_WORK_DIR`).

A worker killed mid-build leaves its partial CSV behind; a system temp folder would keep it until a
reboot. Here each attempt works in `<root>/<request id>/a<attempt>/` (two workers on one job, a stalled
one and its successor, never share files), and a starting worker removes the request folders whose job
no longer holds a live lease (and is not waiting for its retry), so nothing is left for long. A built
zip moves up to `<root>/<request id>/` when only publishing failed, so the retry does not rebuild it.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exhaust.jobs.store import PROCESSING, SUBMITTED, JobStore

log = logging.getLogger("exhaust.jobs")


def work_root(settings: Any) -> Path:
    configured = getattr(settings, "work_dir", None)
    return Path(configured) if configured else Path(settings.data_dir) / "work"


def job_root(settings: Any, request_id: str) -> Path:
    """The folder of one request (kept zips, and one subfolder per running attempt)."""
    return work_root(settings) / request_id


def attempt_folder(settings: Any, request_id: str, attempt: int) -> Path:
    folder = job_root(settings, request_id) / f"a{attempt}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_built(folder: Path) -> None:
    """After a failed attempt: move its finished zips (and their notes) up for the retry, drop the rest."""
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.suffix in (".zip", ".json") and not entry.name.endswith(".part"):
                os.replace(entry, folder.parent / entry.name)
    shutil.rmtree(folder, ignore_errors=True)


def take_kept(folder: Path, name: str) -> bool:
    """Move a zip kept by an earlier attempt (and its note) into `folder`; False when there is none."""
    kept, note = folder.parent / f"{name}.zip", folder.parent / f"{name}.json"
    try:
        os.replace(note, folder / note.name)
        os.replace(kept, folder / kept.name)
    except FileNotFoundError:
        return False
    return True


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def clean(settings: Any, store: JobStore) -> int:
    """Remove job folders whose lease is gone (job ended, missing, or its worker's lease expired)."""
    root = work_root(settings)
    if not root.is_dir():
        return 0
    now = datetime.now(UTC)
    removed = 0
    for entry in root.iterdir():
        job = store.get(entry.name)
        if job is not None:
            leased = (
                job.status == PROCESSING and job.lease_expires_at is not None and job.lease_expires_at > now
            )
            retrying = job.status == SUBMITTED and job.iteration > 0
            if leased or retrying:
                continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("removed %d work folder(s) left by stopped workers", removed)
    return removed
