"""The PRD's download ratio per batch: report files downloaded / batches, per course, tenant and overall.

A download is one report file fetched through its link (`download_event`), in the date range; clicks on
"Download File" (INTERACT `download-file` telemetry) are counted beside it, never mixed in. A batch is a
batch of the course with at least one active enrolment (docs/decisions.md). Days are UTC days, both ends
included. The counting is grouped SQL over the event tables plus the engine's enrolment counts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.dashboard.figures import Catalog, CourseRow
from exhaust.dashboard.store import DashboardStore
from exhaust.dashboard.telemetry import CLICK_ID
from exhaust.errors import BadInput
from exhaust.jobs.db import is_postgres

MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class RatioFigure:
    """Downloads, clicks and batches of one course, one tenant or everything."""

    key: str
    name: str
    downloads: int
    clicks: int
    batches: int

    @property
    def ratio(self) -> float | None:
        """Downloads per batch (None when there is no batch to divide by)."""
        return round(self.downloads / self.batches, 3) if self.batches else None

    def as_json(self) -> dict:
        return {
            "id": self.key,
            "name": self.name,
            "downloads": self.downloads,
            "clicks": self.clicks,
            "batches": self.batches,
            "ratio": self.ratio,
        }


@dataclass(frozen=True)
class DayFigure:
    day: date
    downloads: int
    clicks: int
    ratio: float | None


@dataclass(frozen=True)
class DownloadRatio:
    start: date
    end: date
    overall: RatioFigure
    tenants: tuple[RatioFigure, ...]
    courses: tuple[RatioFigure, ...]
    days: tuple[DayFigure, ...] = field(default_factory=tuple)

    def as_json(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "overall": self.overall.as_json(),
            "tenants": [t.as_json() for t in self.tenants],
            "courses": [c.as_json() for c in self.courses],
            "days": [
                {"date": d.day.isoformat(), "downloads": d.downloads, "clicks": d.clicks, "ratio": d.ratio}
                for d in self.days
            ],
        }


def date_range(start: str | None, end: str | None, today: date | None = None) -> tuple[date, date]:
    """A checked `from`/`to` pair (yyyy-MM-dd); by default the last 30 days up to today."""
    today = today or datetime.now(UTC).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise BadInput("from and to must be dates as yyyy-MM-dd") from None
    if first > last:
        raise BadInput("from must not be after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadInput(f"the date range must be at most {MAX_DAYS} days")
    return first, last


def _day(engine: Engine, column: sa.ColumnElement) -> sa.ColumnElement:
    if is_postgres(engine):
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min, UTC), datetime.combine(end + timedelta(days=1), time.min, UTC)


class RatioReport:
    """Counts downloads and clicks in the dashboard store and batches in the catalogue."""

    def __init__(self, store: DashboardStore, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog

    def _grouped(self, start: date, end: date, channel: str | None) -> dict[str, dict]:
        """Downloads and clicks by (kind) -> (channel, course, day) -> count."""
        low, high = _bounds(start, end)
        d, e = self.store.downloads, self.store.events
        engine = self.store.engine
        downloads = sa.select(
            d.c.channel,
            d.c.course_id,
            _day(engine, d.c.downloaded_at).label("day"),
            sa.func.count().label("n"),
        ).where(d.c.downloaded_at >= low, d.c.downloaded_at < high)
        clicks = sa.select(
            e.c.channel, e.c.course_id, _day(engine, e.c.event_time).label("day"), sa.func.count().label("n")
        ).where(e.c.eid == "INTERACT", e.c.edata_id == CLICK_ID, e.c.event_time >= low, e.c.event_time < high)
        if channel is not None:
            downloads, clicks = downloads.where(d.c.channel == channel), clicks.where(e.c.channel == channel)
        found: dict[str, dict] = {"downloads": {}, "clicks": {}}
        with engine.connect() as conn:
            for kind, query in (("downloads", downloads), ("clicks", clicks)):
                for row in conn.execute(query.group_by(sa.text("1"), sa.text("2"), sa.text("3"))).mappings():
                    key = (row["channel"], row["course_id"] or "", _as_date(row["day"]))
                    found[kind][key] = found[kind].get(key, 0) + int(row["n"])
        return found

    def compute(self, start: date, end: date, channel: str | None) -> DownloadRatio:
        """The ratio of `channel`'s courses (every channel when None) over the days `start`..`end`."""
        courses: Iterable[CourseRow] = (
            self.catalog.courses(channel) if channel is not None else self.catalog.every_course()
        )
        counted = self._grouped(start, end, channel)
        course_channel: dict[str, str] = {}
        names: dict[str, str] = {}
        batches: dict[str, int] = {}
        for course in courses:
            names[course.course_id] = course.name
            batches[course.course_id] = sum(1 for b in course.batches if b.enrolled > 0)
            course_channel[course.course_id] = channel or course.channel
        per_course = {c: [0, 0] for c in names}
        per_tenant: dict[str, list[int]] = {}
        per_day: dict[date, list[int]] = {}
        for position, kind in enumerate(("downloads", "clicks")):
            for (ch, course_id, day), n in counted[kind].items():
                if course_id in per_course:
                    per_course[course_id][position] += n
                per_tenant.setdefault(ch, [0, 0])[position] += n
                per_day.setdefault(day, [0, 0])[position] += n
        tenant_batches: dict[str, int] = {}
        for course_id, n in batches.items():
            ch = course_channel.get(course_id, "")
            tenant_batches[ch] = tenant_batches.get(ch, 0) + n
        total_batches = sum(batches.values())
        courses_out = tuple(
            RatioFigure(c, names[c], per_course[c][0], per_course[c][1], batches[c]) for c in names
        )
        tenants = sorted(set(per_tenant) | {t for t in tenant_batches if t})
        counts = {t: per_tenant.get(t, [0, 0]) for t in tenants}
        tenants_out = tuple(
            RatioFigure(t, t, counts[t][0], counts[t][1], tenant_batches.get(t, 0)) for t in tenants
        )
        overall = RatioFigure(
            channel or "all",
            channel or "All tenants",
            sum(v[0] for v in per_tenant.values()),
            sum(v[1] for v in per_tenant.values()),
            total_batches,
        )
        days = []
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            down, click = per_day.get(day, [0, 0])
            days.append(
                DayFigure(day, down, click, round(down / total_batches, 3) if total_batches else None)
            )
        return DownloadRatio(start, end, overall, tenants_out, courses_out, tuple(days))


def ratio_csv(ratio: DownloadRatio) -> Iterator[str]:
    """The ratio as CSV lines: one row per course, then per tenant, then the overall figure."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["level", "id", "name", "from", "to", "downloads", "clicks", "batches", "ratio"])
    rows = [("course", c) for c in ratio.courses] + [("tenant", t) for t in ratio.tenants]
    rows.append(("all", ratio.overall))
    for level, figure in rows:
        writer.writerow(
            [
                level,
                figure.key,
                _safe(figure.name),
                ratio.start.isoformat(),
                ratio.end.isoformat(),
                figure.downloads,
                figure.clicks,
                figure.batches,
                "" if figure.ratio is None else f"{figure.ratio:g}",
            ]
        )
    yield buffer.getvalue()


def _safe(text: str) -> str:
    """Course names come from content authors: a leading = + - @ would be a formula in a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
