"""Progress exhaust fields (SPEC §3.1) as Ibis expressions.

Progress is integer arithmetic (round-half-up of 100 x completed / leaves), so DuckDB and Spark give the
same numbers; scores come from each learner's best attempt (highest score, ties to the latest attempt).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from exhaust.engine.hierarchy import CollectionNode
from exhaust.engine.learners import Learners
from exhaust.sources.base import Source
from exhaust.sources.scan import ROW_COLUMN

ATTEMPT_COLUMNS = [
    "user_id",
    "content_id",
    "attempt_id",
    "total_score",
    "last_attempted_on",
    "total_max_score",
    "grand_total",
]


@dataclass(frozen=True)
class Dynamic:
    """One dynamic column group member: the hierarchy id and its fields' column names."""

    id: str
    fields: dict[str, ir.Value]


@dataclass
class ProgressFields:
    """Static fields by name, and the nested-collection and assessment groups in hierarchy order."""

    table: ir.Table
    nested: list[Dynamic]
    assessments: list[Dynamic]


def percent(completed: ir.IntegerValue, leaves: ir.IntegerValue) -> ir.IntegerValue:
    """round-half-up(100 * completed / leaves), capped at 100; 0 when there are no leaves."""
    half_up = ((completed * 200 + leaves) / (leaves * 2)).floor()
    return ibis.cases((leaves <= 0, 0), else_=ibis.least(half_up, 100)).cast("int32")


def with_progress(lx: Learners, table: ir.Table, nodes: list[CollectionNode]) -> ir.Table:
    """`table` (one row per learner, from `lx.base`) with `progress_<i>` for each of `nodes`.

    `nodes` are the course, then none or all of its nested collections in hierarchy order, as the
    enrolments' `done_<i>` columns count them. A learner without contentstatus takes the collection's
    `aggregates['completedCount']`, the highest when several activity rows give one (pivoted here: one
    narrow row per learner).
    """
    activity = lx.data.activity
    ids = [n.identifier for n in nodes]
    relevant = activity.filter(activity.activity_id.isin(ids))
    counts = relevant.group_by(relevant.userid.name("a_userid")).aggregate(
        **{
            f"agg_{i}": relevant.completed_count.max(where=relevant.activity_id == identifier)
            for i, identifier in enumerate(ids)
        }
    )
    joined = table.left_join(counts, table.userid == counts.a_userid).drop("a_userid")
    finished = joined.completed_on.notnull() | (joined.status == 2)
    progress = {}
    for i, node in enumerate(nodes):
        completed = ibis.ifelse(joined.has_status, joined[f"done_{i}"], joined[f"agg_{i}"].fill_null(0))
        value = percent(completed, ibis.literal(node.leaves, "int64"))
        progress[f"progress_{i}"] = ibis.ifelse(finished, ibis.literal(100, "int32"), value)
    return joined.mutate(**progress).drop(*(f"agg_{i}" for i in range(len(nodes))))


def course_progress(lx: Learners) -> ir.Table:
    """One row per learner: `userid` and `progress`, the course's (root's) progress as in the report."""
    table = with_progress(lx, lx.base, [lx.data.hierarchy.root])
    return table.select("userid", progress=table.progress_0)


def _attempts(lx: Learners, source: Source, assessments: list[str], columns: list[str]) -> ir.Table:
    """This batch's scored attempts at the collection's assessments, loaded into the backend."""
    data = lx.data
    filters = {"course_id": [data.course_id], "batch_id": [data.batch_id]}
    raw = lx.backend.scan("attempts", source.scan("assessment_aggregator", filters, columns))
    raw = raw.filter(raw.content_id.isin(assessments) & raw.total_score.notnull())
    return raw.rename(userid="user_id").drop(ROW_COLUMN)


def _best_scores(lx: Learners, source: Source, assessments: list[str], details: bool) -> ir.Table:
    """Per learner: the best attempt's score at each assessment and their sum.

    The best score is the maximum, so plain aggregation finds it; which attempt holds it matters only
    for that attempt's other columns (`details`: `grand_total`, `total_max_score`), found with a window
    ordered by score, then the latest attempt, then attempt id.
    """
    if not details:
        # One aggregate per learner (not per learner and assessment, then per learner): its groups are
        # the learners, a fifth of the (learner, assessment) pairs, so it holds less on large batches.
        attempts = _attempts(lx, source, assessments, ["user_id", "content_id", "total_score"])
        scores = {
            f"score_{index}": attempts.total_score.max(where=attempts.content_id == content_id)
            for index, content_id in enumerate(assessments)
        }
        best_scores = attempts.group_by(attempts.userid.name("s_userid")).aggregate(**scores)
        # Every learner here has a scored attempt, so at least one score is present: the sum is not null.
        total = sum((best_scores[name].fill_null(0) for name in scores), ibis.literal(0.0, "float64"))
        return best_scores.mutate(total_score=total)
    else:
        attempts = _attempts(lx, source, assessments, ATTEMPT_COLUMNS)
        order = [
            ibis.desc(attempts.total_score),
            ibis.desc(attempts.last_attempted_on),
            ibis.desc(attempts.attempt_id),
        ]
        window = ibis.window(group_by=[attempts.userid, attempts.content_id], order_by=order)
        best = attempts.mutate(rank=ibis.row_number().over(window)).filter(ibis._.rank == 0)
        aggregates = {"total_score": best.total_score.sum(), "total_max_score": best.total_max_score.sum()}
    for index, content_id in enumerate(assessments):
        aggregates[f"score_{index}"] = best.total_score.max(where=best.content_id == content_id)
        if details:
            aggregates[f"grand_{index}"] = best.grand_total.max(where=best.content_id == content_id)
    return best.group_by(best.userid.name("s_userid")).aggregate(**aggregates)


def _percent_field(table: ir.Table, index: int, details: bool) -> dict[str, ir.Value]:
    return {"score_percent": grand_total_percent(table[f"grand_{index}"])} if details else {}


def percent_text(part: ir.FloatingValue, whole: ir.FloatingValue) -> ir.StringValue:
    """Sunbird's score percentage: ceil(part * 100 / whole) followed by `%`; blank when whole is 0 or unknown.

    A corrupt score whose ratio is beyond a 64-bit integer is blank too, instead of failing the report.
    """
    ratio = part * 100 / whole.nullif(0)
    in_range = ibis.ifelse(ratio.abs() < 9e18, ratio, None)  # below 2**63 once rounded up
    return in_range.ceil().cast("int64").cast("string") + "%"


def grand_total_percent(grand_total: ir.StringValue) -> ir.StringValue:
    """`"8.0/10.0"` gives `80%`; a value without `/` gives blank (as Sunbird)."""
    score = grand_total.re_extract(r"^\s*([0-9.]+)\s*/\s*([0-9.]+)\s*$", 1).nullif("").try_cast("float64")
    maximum = grand_total.re_extract(r"^\s*([0-9.]+)\s*/\s*([0-9.]+)\s*$", 2).nullif("").try_cast("float64")
    return percent_text(score, maximum)


def progress_fields(
    lx: Learners, source: Source, *, nested: bool = True, attempt_details: bool = True
) -> ProgressFields:
    """The wide per-learner table of the progress exhaust, with its dynamic column groups.

    `nested=False` skips nested collections and `attempt_details=False` the best attempt's other
    columns (percentages), when the profile shows none of them: less work on large batches.
    """
    hierarchy = lx.data.hierarchy
    nested_nodes = hierarchy.nested if nested else []
    nodes = [hierarchy.root, *nested_nodes]
    # One per-learner join per query (DuckDB keeps each result, `Backend.stage`): the hash tables of
    # several joins in one pipeline do not spill together, so the progress, the scores and the profile
    # are joined to the enrolments one after another, the profile last (only its shown columns are read).
    table = lx.backend.stage("progress", with_progress(lx, lx.data.enrolments, nodes))
    scores = (
        _best_scores(lx, source, hierarchy.assessments, attempt_details) if hierarchy.assessments else None
    )
    if scores is not None:
        table = table.left_join(scores, table.userid == scores.s_userid).drop("s_userid")
        table = lx.backend.stage("scores", table)
    else:
        table = table.mutate(total_score=ibis.null("float64"))
    table = lx.with_profile(table)
    if "total_max_score" not in table.columns:
        table = table.mutate(total_max_score=ibis.null("float64"))

    certificate = ibis.cases(
        (table.cert_issued, "Issued"), (table.certstatus == 3, "Failed"), else_=ibis.null("string")
    )
    table = table.mutate(
        progress=table.progress_0,
        certificate_status=certificate,
        total_score_percent=percent_text(table.total_score, table.total_max_score),
        **lx.constants(),
    )
    nested_members = [
        Dynamic(n.identifier, {"progress": table[f"progress_{i}"], "level": ibis.literal(n.level, "string")})
        for i, n in enumerate(nested_nodes, start=1)
    ]
    assessments = [
        Dynamic(a, {"score": table[f"score_{i}"]} | _percent_field(table, i, attempt_details))
        for i, a in enumerate(hierarchy.assessments)
    ]
    return ProgressFields(table, nested_members, assessments)
