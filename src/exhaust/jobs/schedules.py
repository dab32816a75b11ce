"""Recurring requests (SPEC §4.2): a cron expression in the configured time zone and what to ask for.

A schedule's `next_run_at` is the slot it waits for. Firing a slot first moves `next_run_at` past *now*
with a compare-and-set on the old value, so two schedulers can never both fire one slot, and slots missed
while every worker was down collapse into the one run that happens when a worker comes back.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cronsim import CronSim, CronSimError

from exhaust.errors import BadInput
from exhaust.jobs.datasets import DATASETS, check_request
from exhaust.jobs.db import UTCDateTime, utcnow
from exhaust.jobs.store import SYSTEM_CHANNEL, abbreviate

#: request_data key of a schedule whose batch list is read at each run from an emitted file.
FROM_EMITTED = "fromEmitted"
EMITTED_SOURCES = ("batch-ids",)
#: Kinds of schedule that are not a dataset request; a higher layer registers what they do.
SPECIAL_KINDS: set[str] = set()


def schedule_table(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{name}_schedule",
        metadata,
        sa.Column("schedule_id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(50), nullable=False),
        sa.Column("request_data", sa.JSON(none_as_null=True)),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("requested_by", sa.String(50)),
        sa.Column("encryption_key", sa.String(500)),
        sa.Column("created_at", UTCDateTime()),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_slot_at", UTCDateTime()),
        sa.Column("last_run_at", UTCDateTime()),
        sa.Column("last_request_id", sa.String(50)),
        sa.Column("last_error", sa.String(300)),
        sa.Column("runs", sa.Integer(), nullable=False),
    )


def next_slot(cron: str, after: datetime, timezone: str) -> datetime:
    """The first slot of `cron` strictly after `after`, evaluated in `timezone` (returned in UTC)."""
    local = after.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    slot = next(CronSim(cron, local))
    return slot.astimezone(ZoneInfo("UTC"))


def check_cron(cron: str) -> str:
    cron = " ".join(cron.split())
    try:
        CronSim(cron, datetime.now(ZoneInfo("UTC")))
    except (CronSimError, ValueError) as exc:
        raise BadInput(f'invalid cron expression {cron!r} ({exc}); e.g. "0 6 * * *" is 06:00 daily') from None
    return cron


@dataclass
class Schedule:
    schedule_id: str
    dataset: str
    request_data: dict
    cron: str
    tag: str
    channel: str
    requested_by: str
    encryption_key: str | None = field(repr=False)
    created_at: datetime | None
    next_run_at: datetime
    last_slot_at: datetime | None
    last_run_at: datetime | None
    last_request_id: str | None
    last_error: str | None
    runs: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Schedule:
        values = dict(row)
        values["request_data"] = values.get("request_data") or {}
        values["requested_by"] = values.get("requested_by") or ""
        return cls(**values)

    def view(self, timezone: str) -> dict:
        """What a user sees of a schedule (never its encryption key), times in the configured zone."""
        zone = ZoneInfo(timezone)

        def local(moment: datetime | None) -> str | None:
            return moment.astimezone(zone).isoformat() if moment else None

        return {
            "scheduleId": self.schedule_id,
            "dataset": self.dataset,
            "datasetConfig": self.request_data,
            "cron": self.cron,
            "timezone": timezone,
            "tag": self.tag,
            "channel": self.channel,
            "requestedBy": self.requested_by,
            "encrypted": bool(self.encryption_key),
            "nextRunAt": local(self.next_run_at),
            "lastSlotAt": local(self.last_slot_at),
            "lastRunAt": local(self.last_run_at),
            "lastRequestId": self.last_request_id,
            "lastError": self.last_error,
            "runs": self.runs,
        }


def check_schedule_request(dataset: str, request_data: Mapping[str, Any], encryption_key: str | None) -> None:
    """A schedule must describe a request the job store would accept (the emitted list is read later)."""
    if dataset in SPECIAL_KINDS:
        return
    if dataset not in DATASETS:
        kinds = [*DATASETS, *sorted(SPECIAL_KINDS)]
        raise BadInput(f"unknown dataset {dataset!r}: use one of {', '.join(kinds)}")
    data = dict(request_data)
    emitted = data.pop(FROM_EMITTED, None)
    if emitted is not None:
        if emitted not in EMITTED_SOURCES:
            raise BadInput(f"--from-emitted takes one of {', '.join(EMITTED_SOURCES)}, not {emitted!r}")
        if data.get("batchId") or data.get("batchFilter") or data.get("searchFilter"):
            raise BadInput("give exactly one of --batch, --batch-filter or --from-emitted")
        data["batchFilter"] = ["placeholder"]  # the real list is read at each run
    check_request(dataset, data, encryption_key)


class ScheduleStore:
    """Reads and writes of the schedule table (beside the job table, in the same database)."""

    def __init__(self, engine: sa.Engine, table: str = "job_request", timezone: str = "Asia/Kolkata") -> None:
        self.engine = engine
        self.timezone = timezone
        self.t = schedule_table(table, sa.MetaData())

    def add(
        self,
        dataset: str,
        request_data: Mapping[str, Any],
        *,
        cron: str,
        channel: str = SYSTEM_CHANNEL,
        requested_by: str = "",
        tag: str | None = None,
        encryption_key: str | None = None,
        now: datetime | None = None,
    ) -> Schedule:
        """Store a new schedule; its first run is the first slot after now."""
        cron = check_cron(cron)
        check_schedule_request(dataset, request_data, encryption_key)
        if not channel or len(channel) > 50 or len(requested_by) > 50:
            raise BadInput("the channel must be given; channel and requester at most 50 characters")
        schedule_id = secrets.token_hex(6)
        tag = tag or f"schedule-{schedule_id}"
        if len(f"{tag}:{channel}") > 100:
            raise BadInput("tag (with channel) must be at most 100 characters")
        now = now or utcnow()
        values = {
            "schedule_id": schedule_id,
            "dataset": dataset,
            "request_data": dict(request_data),
            "cron": cron,
            "tag": tag,
            "channel": channel,
            "requested_by": requested_by,
            "encryption_key": encryption_key,
            "created_at": now,
            "next_run_at": next_slot(cron, now, self.timezone),
            "runs": 0,
        }
        with self.engine.begin() as conn:
            conn.execute(sa.insert(self.t).values(**values))
        found = self.get(schedule_id)
        assert found is not None
        return found

    def get(self, schedule_id: str) -> Schedule | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(self.t).where(self.t.c.schedule_id == schedule_id)).mappings().first()
            )
        return Schedule.from_row(row) if row else None

    def list(self, channel: str | None = None) -> list[Schedule]:
        query = sa.select(self.t).order_by(self.t.c.next_run_at, self.t.c.schedule_id)
        if channel is not None:
            query = query.where(self.t.c.channel == channel)
        with self.engine.connect() as conn:
            return [Schedule.from_row(row) for row in conn.execute(query).mappings()]

    def remove(self, schedule_id: str, channel: str | None = None) -> bool:
        where = self.t.c.schedule_id == schedule_id
        if channel is not None:
            where = sa.and_(where, self.t.c.channel == channel)
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(self.t).where(where)).rowcount == 1

    def due(self, now: datetime) -> builtins.list[Schedule]:
        query = sa.select(self.t).where(self.t.c.next_run_at <= now).order_by(self.t.c.next_run_at)
        with self.engine.connect() as conn:
            return [Schedule.from_row(row) for row in conn.execute(query).mappings()]

    def claim_slot(self, schedule: Schedule, now: datetime) -> datetime | None:
        """Take the schedule's due slot: move `next_run_at` past now unless someone else already did.

        Returns the next slot when this caller won the slot, None when another scheduler fired it.
        """
        following = next_slot(schedule.cron, max(now, schedule.next_run_at), self.timezone)
        with self.engine.begin() as conn:
            won = conn.execute(
                sa.update(self.t)
                .where(
                    self.t.c.schedule_id == schedule.schedule_id,
                    self.t.c.next_run_at == schedule.next_run_at,
                )
                .values(
                    next_run_at=following,
                    last_slot_at=schedule.next_run_at,
                    last_run_at=now,
                    runs=self.t.c.runs + 1,
                )
            ).rowcount
        return following if won == 1 else None

    def record(
        self, schedule_id: str, *, request_id: str | None, error: str | None, retry_at: datetime | None = None
    ) -> None:
        """The outcome of a run; `retry_at` brings the next run forward after a transient failure."""
        values: dict[str, Any] = {"last_error": abbreviate(error) if error else None}
        if request_id is not None:
            values["last_request_id"] = request_id
        with self.engine.begin() as conn:
            conn.execute(sa.update(self.t).where(self.t.c.schedule_id == schedule_id).values(**values))
            if retry_at is not None:
                conn.execute(
                    sa.update(self.t)
                    .where(self.t.c.schedule_id == schedule_id, self.t.c.next_run_at > retry_at)
                    .values(next_run_at=retry_at)
                )

    def set_next_run(self, schedule_id: str, when: datetime) -> None:
        """Move a schedule's next slot (operators and tests: e.g. to pretend the workers were down)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.t).where(self.t.c.schedule_id == schedule_id).values(next_run_at=when)
            )


def retry_delay(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
