"""A batch's figures for the course dashboard, as Ibis expressions run by the engine.

Enrolled, completed, completion %, certificates issued, the progress distribution in tens (0–9 … 90–99,
100) and completion by district and by block. Every figure is one grouped query over the per-learner
table the reports start from, so a 100,000-learner batch is counted by DuckDB (or Spark), never by a
Python loop; only the few result rows come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from exhaust.engine.backend import Backend
from exhaust.engine.inputs import BatchData
from exhaust.engine.learners import learners
from exhaust.engine.progress import course_progress

#: Labels of the progress buckets, in order: 0–9, 10–19, …, 90–99, then 100 on its own.
BUCKETS: tuple[str, ...] = (*(f"{low}–{low + 9}" for low in range(0, 100, 10)), "100")
UNKNOWN = ""  # the district or block of learners whose profile has none


@dataclass(frozen=True)
class AreaFigure:
    """Completion in one district or block."""

    name: str  # "" when the profiles give none
    enrolled: int
    completed: int

    @property
    def percent(self) -> float:
        return completion_percent(self.completed, self.enrolled)


@dataclass(frozen=True)
class BatchSummary:
    """The figures of one batch's page."""

    batch_id: str
    course_id: str
    course_name: str | None
    batch_name: str | None
    enrolled: int
    completed: int
    certificates: int
    distribution: tuple[int, ...]  # learners per bucket of BUCKETS
    districts: tuple[AreaFigure, ...] = field(default_factory=tuple)
    blocks: tuple[AreaFigure, ...] = field(default_factory=tuple)

    @property
    def percent(self) -> float:
        return completion_percent(self.completed, self.enrolled)


def completion_percent(completed: int, enrolled: int) -> float:
    """Completed over enrolled, in percent with one decimal (0 for an empty batch)."""
    return round(100.0 * completed / enrolled, 1) if enrolled else 0.0


def bucket_of(progress: ir.IntegerValue) -> ir.IntegerValue:
    """The bucket index of a progress: tens 0–9 … 90–99 are 0 … 9, and 100 alone is 10."""
    return ibis.cases((progress >= 100, 10), else_=(progress.clip(lower=0) // 10).cast("int32"))


def learner_figures(backend: Backend, data: BatchData) -> ir.Table:
    """One row per active enrolment: progress, completed, certificate, district and block.

    Completed means what Sunbird's course status says (status 2, or a completion date), the same rule
    the course list uses; the progress distribution shows the content progress of everyone.
    """
    lx = learners(backend, data)
    progress = course_progress(lx)
    base = lx.base
    table = base.left_join(progress, base.userid == progress.userid).select(
        progress=progress.progress.fill_null(0),
        cert_issued=base.cert_issued.fill_null(False),
        district=base.district.strip().fill_null(UNKNOWN),
        block=base.block.strip().fill_null(UNKNOWN),
        completed=((base.status.fill_null(0) == 2) | base.completed_on.notnull()).cast("int64"),
    )
    return table


def _areas(backend: Backend, table: ir.Table, column: str) -> tuple[AreaFigure, ...]:
    grouped = (
        table.group_by(table[column].name("name"))
        .aggregate(enrolled=table.count(), completed=table.completed.sum())
        .order_by([ibis.desc("enrolled"), "name"])
    )
    rows = backend.execute(grouped).to_pylist()
    return tuple(AreaFigure(r["name"], int(r["enrolled"]), int(r["completed"] or 0)) for r in rows)


def batch_summary(backend: Backend, data: BatchData) -> BatchSummary:
    """The dashboard figures of `data`'s batch, computed by `backend`.

    The per-learner figures (five narrow columns) are computed once and loaded back as a table, so the
    four small aggregations below scan it instead of repeating the joins behind it.
    """
    table = backend.table("learner_figures", backend.execute(learner_figures(backend, data)))
    totals = table.aggregate(
        enrolled=table.count(),
        completed=table.completed.sum(),
        certificates=table.cert_issued.cast("int64").sum(),
    )
    total = backend.execute(totals).to_pylist()[0]
    buckets = table.group_by(bucket=bucket_of(table.progress)).aggregate(n=table.count())
    counts = {int(r["bucket"]): int(r["n"]) for r in backend.execute(buckets).to_pylist()}
    return BatchSummary(
        batch_id=data.batch_id,
        course_id=data.course_id,
        course_name=data.hierarchy.name,
        batch_name=data.batch.get("name"),
        enrolled=int(total["enrolled"] or 0),
        completed=int(total["completed"] or 0),
        certificates=int(total["certificates"] or 0),
        distribution=tuple(counts.get(i, 0) for i in range(len(BUCKETS))),
        districts=_areas(backend, table, "district"),
        blocks=_areas(backend, table, "block"),
    )


def batch_counts(backend: Backend, enrolments: ir.Table) -> ir.Table:
    """Enrolled and completed learners per batch over `user_enrolments` rows (batchid, userid, active, status,
    completedon).

    For the course list: active enrolments count, and one is completed when its status is 2 or it has a
    completion date (what the reports call progress 100 without reading content status).
    """
    active = enrolments.filter(enrolments.active.fill_null(False))
    done = ((active.status.fill_null(0) == 2) | active.completedon.notnull()).cast("int64")
    return active.group_by("batchid").aggregate(
        enrolled=active.userid.nunique(), completed=active.userid.nunique(where=done == 1)
    )
