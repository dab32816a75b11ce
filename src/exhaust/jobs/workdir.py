"""Work files of running jobs: one folder per job under a root the workers own (`EXHAUST_WORK_DIR`).

A worker killed mid-build leaves its partial CSV behind; a system temp folder would keep it until a
reboot. Here every job works in `<root>/<request id>/`, and a starting worker removes the folders whose
job no longer holds a live lease (and is not waiting for its retry), so nothing is left for long. A built
zip stays in its folder between attempts when only publishing failed, so the retry does not rebuild it.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exhaust.jobs.store import PROCESSING, SUBMITTED, JobStore

log = logging.getLogger("exhaust.jobs")
#: Suffixes of files that are never reused by a retry (partial or intermediate output).
SCRATCH = (".csv", ".part", ".sealed")


def work_root(settings: Any) -> Path:
    configured = getattr(settings, "work_dir", None)
    return Path(configured) if configured else Path(settings.data_dir) / "work"


def job_folder(settings: Any, request_id: str) -> Path:
    folder = work_root(settings) / request_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def drop_scratch(folder: Path) -> None:
    """Remove partial files after a failed attempt; finished zips and their notes stay for the retry."""
    for entry in folder.iterdir() if folder.is_dir() else ():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.suffix in SCRATCH or entry.name.endswith(".zip.part"):
            entry.unlink(missing_ok=True)


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
