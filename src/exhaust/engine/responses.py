"""Response exhaust fields (SPEC §3.3): one row per attempt x question of this batch.

The `question` list is unnested by the engine and `params` / `resvalues` turned into JSON text with the
engine's own `to_json` (DuckDB and Spark both have one), so no attempt passes through Python.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from exhaust.engine.consent import with_consent
from exhaust.engine.learners import Learners
from exhaust.sources.base import Source

ATTEMPT_COLUMNS = ["user_id", "content_id", "attempt_id", "last_attempted_on", "question"]
ARCHIVED_AFTER = 1_000_000  # added to archived questions' positions: they sort after the live ones


@ibis.udf.scalar.builtin(name="to_json")
def _to_json(value: dt.Array(dt.Map(dt.string, dt.string))) -> dt.JSON:  # type: ignore[valid-type]
    """DuckDB's and Spark's own `to_json`: compact JSON text of a list of maps, keys in stored order."""


def question_rows(attempts: ir.Table) -> ir.Table:
    """Unnest attempts into (attempt, question position, question fields) rows, JSON text for options.

    An attempt with no questions (a null or empty list) keeps one row with blank question fields, as
    Sunbird's response exhaust does (`explode_outer`).
    """
    # An unnest in the select list, not a lateral join: DuckDB decorrelates `LEFT JOIN UNNEST(...)` into
    # a hash join on the whole attempt row (question list included), ten times the work of the unnest.
    questions = attempts.question
    numbered = questions.zip(ibis.range(0, questions.length()))
    blank = ibis.literal([None], type=numbered.type())  # no questions: one row of blanks (explode_outer)
    exploded = attempts.mutate(pair=ibis.ifelse(questions.length() > 0, numbered, blank).unnest())
    question = exploded.pair["f1"]
    return exploded.select(
        userid=exploded.user_id,
        content_id=exploded.content_id,
        attempt_id=exploded.attempt_id,
        attempted_on=exploded.last_attempted_on,
        position=exploded.pair["f2"].cast("int64").fill_null(0),
        question_id=question["id"],
        question_type=question["type"],
        question_title=question["title"],
        question_description=question["description"],
        question_duration=question["duration"],
        question_score=question["score"],
        question_max_score=question["max_score"],
        question_options=_to_json(question["params"]).cast("string"),
        question_response=_to_json(question["resvalues"]).cast("string"),
        **({"archived": exploded.archived} if "archived" in attempts.columns else {}),
    )


def without_archived_duplicates(rows: ir.Table) -> ir.Table:
    """Question rows of archived attempts that the live store also has are dropped (the live row wins).

    Sunbird unions both stores and drops duplicates on (user, attempt, question); the question set is part
    of the key here, so two question sets' attempts that share an attempt id both stay.
    """
    window = ibis.window(
        group_by=[rows.userid, rows.content_id, rows.attempt_id, rows.question_id],
        order_by=[rows.archived, rows.position],
    )
    ranked = rows.mutate(copy=ibis.row_number().over(window))
    kept = ranked.filter(ranked.copy == 0)
    # Archived-only questions follow the live ones of the same attempt (positions restart in each store).
    shifted = ibis.ifelse(kept.archived, kept.position + ARCHIVED_AFTER, kept.position)
    return kept.mutate(position=shifted).drop("copy", "archived")


def batch_attempts(lx: Learners, source: Source) -> ir.Table:
    """This batch's attempts with their questions, scanned by the engine, and the attempts of Sunbird's
    assessment archive when one is configured (marked `archived`)."""
    data = lx.data
    filters = {"course_id": [data.course_id], "batch_id": [data.batch_id]}
    scanned = lx.backend.scan("attempts", source.scan("assessment_aggregator", filters, ATTEMPT_COLUMNS))
    archived = source.archived_attempts(data.course_id, data.batch_id, ATTEMPT_COLUMNS)
    if archived is None or archived.num_rows == 0:
        return scanned  # no `archived` column: nothing to deduplicate
    live = scanned.select(*ATTEMPT_COLUMNS)
    old = lx.backend.table(
        "archived_attempts", archived.select(ATTEMPT_COLUMNS).cast(live.schema().to_pyarrow())
    )
    return live.mutate(archived=ibis.literal(False)).union(old.mutate(archived=ibis.literal(True)))


def response_fields(lx: Learners, source: Source, channel: str) -> ir.Table:
    """Question rows of this batch's attempts, with learner and question set columns."""
    hierarchy = lx.data.hierarchy
    questions = question_rows(batch_attempts(lx, source))
    if "archived" in questions.columns:
        questions = without_archived_duplicates(questions)
    registration = hierarchy.registration
    titles = pa.table(
        {"t_content_id": list(hierarchy.titles), "questionset_title": list(hierarchy.titles.values())},
        schema=pa.schema([("t_content_id", pa.string()), ("questionset_title", pa.string())]),
    )
    title_table = lx.backend.table("titles", titles)
    learners = with_consent(lx, lx.base, source, channel)
    rows = questions.join(learners, questions.userid == learners.userid).select(
        questions, user_name=learners.user_name, consent_given=learners.consent_given
    )
    rows = rows.left_join(title_table, rows.content_id == title_table.t_content_id).drop("t_content_id")
    hidden = rows.content_id.isin(registration) & ~rows.consent_given if registration else ibis.literal(False)
    return rows.mutate(
        question_response=ibis.ifelse(hidden, ibis.null("string"), rows.question_response),
        user_id=rows.userid,
        **lx.constants(),
    )
