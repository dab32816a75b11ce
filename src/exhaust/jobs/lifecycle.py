"""A claimed job's lease: renewed in the background, with the job's progress written alongside.

Renewing every third of the lease keeps a slow report alive; a worker that dies stops renewing, so the
lease runs out and another worker claims the job again. Progress (percent and phase) rides on the same
writes, so reporting it costs no extra round trips.
"""

from __future__ import annotations

import logging
import threading

from exhaust.jobs.store import Job, JobStore

log = logging.getLogger("exhaust.jobs")


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop without writing anything."""


class Lease:
    """Holds the lease on one job while `with Lease(...)` runs."""

    def __init__(self, store: JobStore, job: Job, owner: str, lease_seconds: float) -> None:
        self.store = store
        self.job = job
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.interval = max(0.05, min(lease_seconds / 3, 5.0))
        self.percent = 0
        self.phase = "starting"
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.request_id[:8]}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop renewing (before the final write, so no renewal races with it)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def update(self, percent: float, phase: str) -> None:
        """Record progress (written with the next renewal)."""
        self.percent = max(0, min(100, int(percent)))
        self.phase = phase

    def check(self) -> None:
        """Raise LeaseLost if another worker now owns the job."""
        if self._lost.is_set():
            raise LeaseLost(self.job.request_id)

    def lost(self) -> None:
        self._lost.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                kept = self.store.renew(
                    self.job,
                    self.owner,
                    lease_seconds=self.lease_seconds,
                    progress=self.percent,
                    phase=self.phase,
                )
            except Exception as exc:  # the database may be briefly unreachable: try again next tick
                log.warning("could not renew the lease of %s: %s", self.job.request_id, exc)
                continue
            if not kept:
                log.warning("lost the lease of %s to another worker", self.job.request_id)
                self._lost.set()
                return
