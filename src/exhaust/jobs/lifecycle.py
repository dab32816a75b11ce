"""A claimed job's lease: renewed in the background, with the job's progress written alongside.

Renewing every third of the lease keeps a slow report alive; a worker that dies stops renewing, so the
lease runs out and another worker claims the job again. Progress (percent and phase) rides on the same
writes, so reporting it costs no extra round trips.

Fencing: every write a worker makes requires it to still own an unexpired lease (the store checks both
in the statement), and before publishing a file the worker checks its own deadline: the lease is valid
until `lease_seconds` after the start of its last successful renewal, by this machine's monotonic clock
(which keeps running while the process is stopped). A worker that was stalled (SIGSTOP, swap, a long
pause) past that time finds its lease gone on waking and stops without publishing or writing anything.
"""

from __future__ import annotations

import logging
import threading
import time

from exhaust.jobs.store import Job, JobStore

log = logging.getLogger("exhaust.jobs")


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop without writing anything."""


class Lease:
    """Holds the lease on one job while `with Lease(...)` runs."""

    def __init__(
        self, store: JobStore, job: Job, owner: str, lease_seconds: float, claimed_at: float | None = None
    ) -> None:
        self.store = store
        #: Monotonic time until which the lease is surely ours (from the start of the claim or renewal).
        self.valid_until = (time.monotonic() if claimed_at is None else claimed_at) + lease_seconds
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

    def check(self, margin: float | None = None) -> None:
        """Raise LeaseLost if another worker may own the job now (lost, or less than `margin` s left)."""
        if margin is None:
            margin = min(1.0, self.lease_seconds / 10)
        if self._lost.is_set() or time.monotonic() >= self.valid_until - margin:
            self._lost.set()
            raise LeaseLost(self.job.request_id)

    def renew_now(self) -> None:
        """Renew at once (before publishing, so the upload starts with a whole lease); LeaseLost if lost."""
        self._renew()
        self.check(margin=min(1.0, self.lease_seconds / 10))

    def lost(self) -> None:
        self._lost.set()

    def _renew(self) -> bool:
        """One renewal; False once the lease is lost (another worker, or it ran out)."""
        if self._lost.is_set():
            return False
        started = time.monotonic()
        if started >= self.valid_until:
            self._lost.set()  # too late: another worker may have claimed it already
            return False
        try:
            kept = self.store.renew(
                self.job,
                self.owner,
                lease_seconds=self.lease_seconds,
                progress=self.percent,
                phase=self.phase,
            )
        except Exception as exc:  # the database may be briefly unreachable: try again next tick
            log.warning("could not renew the lease of %s: %s", self.job.request_id, type(exc).__name__)
            return True
        if not kept:
            log.warning("lost the lease of %s to another worker", self.job.request_id)
            self._lost.set()
            return False
        self.valid_until = started + self.lease_seconds
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._renew():
                return
