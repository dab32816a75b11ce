"""Response exhaust fields (SPEC §3.3): one row per attempt x question of this batch.

The `question` list is unnested with Arrow kernels and `params` / `resvalues` turned into JSON text with
DuckDB's `to_json` before the engine runs, so every backend sees the same flat strings.
"""

from __future__ import annotations

import dataclasses

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.engine.consent import with_consent
from exhaust.engine.inputs import BatchData
from exhaust.engine.learners import Learners
from exhaust.sources.base import Source

ATTEMPT_COLUMNS = ["user_id", "content_id", "attempt_id", "last_attempted_on", "question"]


def questionless_as_blank(questions: pa.ListArray) -> pa.ListArray:
    """An attempt with no questions (null or empty list) keeps one row with blank question fields.

    Sunbird's response exhaust explodes the list with `explode_outer`, so such an attempt is still
    reported; a list of one null question does the same for the unnesting below.
    """
    lengths = pc.fill_null(pc.list_value_length(questions), 0)
    empty = pc.equal(lengths, 0)
    if not pc.any(empty).as_py():
        return questions
    blank = pa.scalar([None], type=questions.type)
    return pc.if_else(empty, blank, questions)


def without_archived_duplicates(rows: pa.Table) -> pa.Table:
    """Question rows of archived attempts that the live store also has are dropped (the live row wins).

    Sunbird unions both stores and drops duplicates on (user, attempt, question); the question set is part
    of the key here, so two question sets' attempts that share an attempt id both stay.
    """
    if not pc.any(rows.column("archived")).as_py():
        return rows.drop_columns(["archived"])
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("r", rows)
        return con.sql(
            "SELECT * EXCLUDE (archived) FROM r QUALIFY row_number() OVER ("
            "PARTITION BY userid, content_id, attempt_id, question_id ORDER BY archived, position) = 1"
        ).to_arrow_table()
    finally:
        con.close()


def question_rows(attempts: pa.Table) -> pa.Table:
    """Unnest attempts into (attempt, question position, question fields) rows, JSON text for options."""
    questions = questionless_as_blank(attempts.column("question").combine_chunks())
    parents = pc.list_parent_indices(questions)
    flat = pc.list_flatten(questions)
    positions = pc.subtract(
        pa.array(range(len(flat)), pa.int64()),
        pc.take(questions.offsets.cast(pa.int64()), parents),
    )
    if "archived" not in attempts.column_names:
        attempts = attempts.append_column("archived", pa.repeat(pa.scalar(False), attempts.num_rows))
    head = attempts.select(["user_id", "content_id", "attempt_id", "last_attempted_on", "archived"]).take(
        parents
    )
    table = pa.table(
        {
            "userid": head.column("user_id"),
            "content_id": head.column("content_id"),
            "attempt_id": head.column("attempt_id"),
            "attempted_on": head.column("last_attempted_on"),
            "position": positions,
            "question_id": flat.field("id"),
            "question_type": flat.field("type"),
            "question_title": flat.field("title"),
            "question_description": flat.field("description"),
            "question_duration": flat.field("duration"),
            "question_score": flat.field("score"),
            "question_max_score": flat.field("max_score"),
            "params": flat.field("params"),
            "resvalues": flat.field("resvalues"),
            "archived": head.column("archived"),
        }
    )
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("q", table)
        rows = con.sql(
            "SELECT * EXCLUDE (params, resvalues), "
            "CAST(to_json(params) AS VARCHAR) AS question_options, "
            "CAST(to_json(resvalues) AS VARCHAR) AS question_response FROM q"
        ).to_arrow_table()
    finally:
        con.close()
    return without_archived_duplicates(rows)


def with_attempts(data: BatchData, source: Source) -> BatchData:
    """`data` with its learners' attempts (questions included) read once, for building in parts.

    Attempts from Sunbird's assessment archive, when one is configured, come after the live ones with
    `archived` set, so `question_rows` can drop what both stores hold.
    """
    live = source.attempts(data.course_id, data.batch_id, ATTEMPT_COLUMNS, user_ids=data.user_ids)
    archived = source.archived_attempts(
        data.course_id, data.batch_id, ATTEMPT_COLUMNS, user_ids=data.user_ids
    )
    attempts = live.append_column("archived", pa.repeat(pa.scalar(False), live.num_rows))
    if archived is not None and archived.num_rows:
        marked = archived.append_column("archived", pa.repeat(pa.scalar(True), archived.num_rows))
        attempts = pa.concat_tables([attempts, marked.cast(attempts.schema)])
    return dataclasses.replace(data, attempts=attempts)


def response_fields(lx: Learners, source: Source, channel: str) -> ir.Table:
    """Question rows of this batch's attempts, with learner and question set columns."""
    data, hierarchy = lx.data, lx.data.hierarchy
    attempts = data.attempts if data.attempts is not None else with_attempts(data, source).attempts
    questions = lx.backend.table("questions", question_rows(attempts))
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
