"""The scheduler the workers run: one leader at a time fires due schedules and runs periodic tasks.

Leadership: on PostgreSQL a session advisory lock held on a connection of its own (it goes with the
connection when a worker dies); on SQLite a leader row with an expiry that the leader renews. Either way
each slot is also taken with a compare-and-set (`ScheduleStore.claim_slot`), so even two leaders could
not both fire one slot.

Kinds of schedule other than a dataset request (the TPD feed) and periodic tasks (advancing TPD runs)
live in higher layers; they register here (`register_action`, `register_periodic`) when imported.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from exhaust.errors import ExhaustError
from exhaust.jobs.db import UTCDateTime, is_postgres, utcnow
from exhaust.jobs.kinds import load_kinds
from exhaust.jobs.schedules import FROM_EMITTED, SPECIAL_KINDS, Schedule, ScheduleStore
from exhaust.jobs.store import JobStore

log = logging.getLogger("exhaust.schedules")

#: kind -> action(settings, schedule) returning the id of what it started.
Action = Callable[[Any, Schedule], str]
#: emitted source name -> reader(settings) returning the batch ids to request.
EmittedReader = Callable[[Any], list[str]]
Periodic = Callable[[Any], None]

_actions: dict[str, Action] = {}
_emitted: dict[str, EmittedReader] = {}
_periodic: dict[str, Periodic] = {}


def register_action(kind: str, action: Action) -> None:
    _actions[kind] = action
    SPECIAL_KINDS.add(kind)


def register_emitted(name: str, reader: EmittedReader) -> None:
    _emitted[name] = reader


def register_periodic(name: str, task: Periodic) -> None:
    _periodic[name] = task


class Leadership:
    """Who may run the scheduler now; at most one holder across every machine sharing the database."""

    def __init__(self, engine: sa.Engine, table: str, owner: str, ttl_seconds: float = 30) -> None:
        self.engine = engine
        self.owner = owner
        self.ttl = ttl_seconds
        self.table = table
        self.key = 0  # the advisory lock key, known once connected (it names the schema)
        self.postgres = is_postgres(engine)
        self._conn: sa.Connection | None = None
        self.leader_table = sa.Table(
            f"{table}_scheduler_leader",
            sa.MetaData(),
            sa.Column("name", sa.String(50), primary_key=True),
            sa.Column("owner", sa.String(200)),
            sa.Column("expires_at", UTCDateTime()),
        )

    def acquire(self) -> bool:
        """True while this process is the leader (tries to become it when nobody is)."""
        return self._acquire_postgres() if self.postgres else self._acquire_row()

    def _acquire_postgres(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                self.release()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            # Advisory locks are database-wide: the key names the schema too, so two deployments (or test
            # sessions) with job tables of one name in different schemas each have a leader.
            schema = conn.execute(sa.select(sa.func.current_schema())).scalar_one()
            self.key = zlib.crc32(f"exhaust:{schema}.{self.table}:scheduler".encode())
            held = conn.execute(sa.select(sa.func.pg_try_advisory_lock(self.key))).scalar_one()
        except Exception:
            conn.close()
            raise
        if held:
            self._conn = conn
            return True
        conn.close()
        return False

    def _acquire_row(self) -> bool:
        t = self.leader_table
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                sqlite.insert(t)
                .values(name="scheduler", owner=None, expires_at=None)
                .on_conflict_do_nothing()
            )
            taken = conn.execute(
                sa.update(t)
                .where(
                    t.c.name == "scheduler",
                    sa.or_(t.c.owner.is_(None), t.c.owner == self.owner, t.c.expires_at <= now),
                )
                .values(owner=self.owner, expires_at=now + timedelta(seconds=self.ttl))
            ).rowcount
        return taken == 1

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(self.key)))
            except sa.exc.DBAPIError:
                pass
            finally:
                self._conn.close()
                self._conn = None
        elif not self.postgres:
            t = self.leader_table
            with self.engine.begin() as conn:
                conn.execute(sa.update(t).where(t.c.owner == self.owner).values(owner=None, expires_at=None))


@dataclass
class Fired:
    schedule_id: str
    slot: datetime
    started: str | None
    error: str | None


class Scheduler:
    """Fires due schedules as ordinary requests (or registered actions) while it is the leader."""

    def __init__(self, store: JobStore, settings: Any, owner: str) -> None:
        load_kinds()  # the registered kinds' actions (`tpd`, …) are known before the first tick
        self.store = store
        self.settings = settings
        self.schedules = ScheduleStore(store.engine, settings.job_table, settings.timezone)
        self.leadership = Leadership(
            store.engine, settings.job_table, owner, settings.schedule_leader_seconds
        )

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """One round: fire every due slot (once each, however many were missed), then periodic tasks."""
        if not self.leadership.acquire():
            return []
        now = now or utcnow()
        fired = [result for s in self.schedules.due(now) if (result := self._fire_slot(s, now)) is not None]
        for name, task in list(_periodic.items()):
            try:
                task(self.settings)
            except Exception as exc:  # one task's trouble never stops the scheduler
                log.error("periodic task %s failed: %s", name, exc)
        return fired

    def _fire_slot(self, schedule: Schedule, now: datetime) -> Fired | None:
        if self.schedules.claim_slot(schedule, now) is None:
            return None  # another scheduler took this slot
        started, error, retry_at = None, None, None
        try:
            started = self.run_now(schedule)
        except ExhaustError as exc:  # bad input: report it, wait for the next slot
            error = exc.message
        except Exception as exc:  # transient (database, emitted store): try again soon
            error = f"the run could not start ({type(exc).__name__}); it will be retried"
            retry_at = now + timedelta(seconds=self.settings.schedule_retry_seconds)
        self.schedules.record(schedule.schedule_id, request_id=started, error=error, retry_at=retry_at)
        log.info("schedule %s fired for %s: %s", schedule.schedule_id, schedule.next_run_at,
                 started or error)  # fmt: skip
        return Fired(schedule.schedule_id, schedule.next_run_at, started, error)

    def run_now(self, schedule: Schedule) -> str:
        """Start what the schedule asks for at once (`schedule run-now`, and each slot); returns its id."""
        action = _actions.get(schedule.dataset)
        if action is not None:
            return action(self.settings, schedule)
        data = dict(schedule.request_data)
        emitted = data.pop(FROM_EMITTED, None)
        if emitted is not None:
            reader = _emitted.get(emitted)
            if reader is None:
                raise ExhaustError(f"no reader of emitted {emitted} is installed")
            ids = reader(self.settings)
            if not ids:
                raise ExhaustError(f"the emitted {emitted} file lists no batch ids")
            data["batchFilter"] = ids
        job, _ = self.store.submit(
            schedule.dataset,
            data,
            tag=schedule.tag,
            channel=schedule.channel,
            requested_by=schedule.requested_by,
            encryption_key=schedule.encryption_key,
        )
        return job.request_id

    def run(self, stop: threading.Event) -> None:
        """Tick every `schedule_poll_seconds` until `stop` is set (the workers' scheduler thread)."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception as exc:  # database unreachable: the next tick tries again
                    log.error("scheduler tick failed: %s", exc)
                    self.leadership.release()
                stop.wait(self.settings.schedule_poll_seconds)
        finally:
            self.leadership.release()


def start_scheduler(store: JobStore, settings: Any, owner: str, stop: threading.Event) -> threading.Thread:
    """Run a scheduler beside the workers of this process (a daemon thread ending with `stop`)."""
    scheduler = Scheduler(store, settings, owner)
    thread = threading.Thread(target=scheduler.run, args=(stop,), name="scheduler", daemon=True)
    thread.start()
    return thread
