"""Wake idle workers when a job is submitted: LISTEN/NOTIFY on PostgreSQL, short polling everywhere.

The submit transaction sends `NOTIFY exhaust_jobs`; a listener thread turns it into a wake-up for the
worker threads of this process. Polling (`poll_seconds`) stays as the safety net for lost notifications,
back-off expiries and expired leases, which nobody announces.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from exhaust.jobs.db import is_postgres
from exhaust.jobs.store import NOTIFY_CHANNEL

log = logging.getLogger("exhaust.jobs")


class Wakeup:
    """`wait(timeout)` returns early when a submission is announced."""

    def __init__(self, engine: Engine, *, listen: bool = True) -> None:
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if listen and is_postgres(engine):
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._thread = threading.Thread(
                target=self._listen, args=(url,), name="job-listener", daemon=True
            )
            self._thread.start()

    def wait(self, timeout: float) -> bool:
        woken = self._event.wait(timeout)
        if not self._stop.is_set():  # once closed, every waiter returns at once
            self._event.clear()
        return woken

    def wake(self) -> None:
        self._event.set()

    def close(self) -> None:
        self._stop.set()  # the listener (a daemon thread) notices within a second and disconnects
        self._event.set()

    def _listen(self, url: str) -> None:
        import psycopg  # only PostgreSQL stores listen (the [postgres] extra)

        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._event.set()
            except psycopg.Error as exc:  # database restarting: polling covers the gap
                log.warning("job notifications unavailable (%s); polling only", exc)
                self._stop.wait(5)
