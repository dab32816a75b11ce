"""Scan one batch's data from a Source into the engine and flatten it there.

The engine reads the tables itself (sources/scan.py) and unnests maps and lists (contentstatus,
aggregates, certificates) as Ibis expressions, so DuckDB and Spark do the same work and Python holds
nothing per learner. Python keeps only what is per batch: the batch row, the hierarchy walk, the
optional nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.engine.backend import Backend
from exhaust.engine.hierarchy import AssessmentRules, CollectionNode, Hierarchy, read_hierarchy
from exhaust.sources.base import Source
from exhaust.sources.scan import ROW_COLUMN
from exhaust.sources.schema import USER_FIELDS

TS = pa.timestamp("ms", tz="UTC")


@dataclass
class BatchData:
    """One batch's inputs as Ibis tables of one backend: scanned from the source and flattened by the
    engine (nothing per learner is held in Python)."""

    batch: dict
    hierarchy: Hierarchy
    backend: Backend
    # userid, enrolled_on, completed_on, status, cert_issued, certstatus, has_status, and done_<i>: the
    # completed leaves (contentstatus at 2, optional nodes removed) of collection i, where collection 0
    # is the course and collection i the nested collection hierarchy.nested[i - 1]
    enrolments: ir.Table
    activity: ir.Table  # userid, activity_id, completed_count (context cb:<batch>)
    users: ir.Table  # the `users` logical table, one row per enrolled user, board unwrapped

    @property
    def batch_id(self) -> str:
        return self.batch["batchid"]

    @property
    def course_id(self) -> str:
        return self.batch["courseid"]


def first_per_key(table: pa.Table, keys: list[str]) -> pa.Table:
    """Keep the first row of each key (sources may repeat a primary key)."""
    if table.num_rows == 0:
        return table
    if len(keys) == 1 and pc.count_distinct(table.column(keys[0]), mode="all").as_py() == table.num_rows:
        return table  # the usual case: no key repeats, nothing to copy
    indexed = table.select(keys).append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    first = indexed.group_by(keys, use_threads=False).aggregate([("__row", "min")]).column("__row_min")
    return table.take(pc.take(first, pc.sort_indices(first)))


ENROLMENT_COLUMNS = [
    "userid",
    "courseid",
    "active",
    "enrolled_date",
    "enrolleddate",
    "completedon",
    "status",
    "contentstatus",
    "certificates",
    "issued_certificates",
    "certstatus",
]
ACTIVITY_COLUMNS = ["user_id", "activity_id", "aggregates"]


def first_rows(table: ir.Table, key: str, among: ir.Table | None = None) -> ir.Table:
    """The first row (in source order, `src_row`) of each `key`: sources may repeat a primary key.

    Found as the smallest `src_row` per key (an aggregate of two narrow columns, which spills) and a
    semi join on it, not a window over whole rows: a window partition buffers every column of the
    table (maps included) and does not spill, so it broke the memory limit on large batches.
    `among`: a filtered `table` (same `src_row`s) whose keys alone count; the semi join on `src_row`
    then also filters, so the wide rows pass one join instead of two.
    """
    among = table if among is None else among
    firsts = among.group_by(among[key].name("first_key")).aggregate(first_row=among[ROW_COLUMN].min())
    kept = table.semi_join(firsts, table[ROW_COLUMN] == firsts.first_row)
    return kept.drop(ROW_COLUMN)


def legacy_timestamp(text: ir.StringValue) -> ir.TimestampValue:
    """Sunbird's legacy `enrolleddate` text (`2019-11-13 05:41:50:382+0000`, or ISO 8601) as UTC instants;
    blank or unparseable text gives null. Spelled with substrings, not regex back-references, whose syntax
    differs between engines."""
    value = text.strip()
    colon_millis = value.re_search(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{1,3}")
    value = ibis.ifelse(colon_millis, value.substr(0, 19) + "." + value.substr(20), value)
    compact_offset = value.re_search(r"[+-][0-9]{4}$")
    value = ibis.ifelse(compact_offset, value.substr(0, value.length() - 2) + ":" + value.right(2), value)
    return value.nullif("").try_cast("timestamp('UTC')")


def _non_empty(values: ir.ArrayValue | ir.MapValue) -> ir.BooleanValue:
    return (values.length() > 0).fill_null(False)


def completed_ids(contentstatus: ir.MapValue, optional: set[str]) -> ir.ArrayValue:
    """The content ids whose `contentstatus` entry is 2, optional nodes excluded (a list per row)."""
    values = contentstatus.values()
    done = contentstatus.keys().filter(lambda _key, index: values[index] == 2)
    if optional:
        excluded = sorted(optional)
        done = done.filter(lambda key: ~key.isin(excluded))
    return done


def done_count(completed: ir.ArrayValue, members: set[str] | None) -> ir.IntegerValue:
    """How many of the completed ids count for a collection (every one when the tree does not say
    which leaves belong to it)."""
    if members is None:
        counted = completed
    elif not members:
        return ibis.literal(0, "int64")
    else:
        counted = completed.intersect(ibis.literal(sorted(members), "array<string>"))
    return counted.length().fill_null(0).cast("int64")


def flattened_enrolments(active: ir.Table, optional: set[str], collections: list[CollectionNode]) -> ir.Table:
    """Scalar enrolment columns: dates, status and certificate facts, and `done_<i>`: the completed
    leaves of `collections[i]`.

    The leaves are counted row by row from the `contentstatus` map with list functions, not by
    unnesting it, joining the leaves and grouping: no operator that holds rows, and only integers
    travel through the joins after (a list or map carried into a join's build side does not fit a
    low memory limit).
    """
    done = completed_ids(active.contentstatus, optional)
    return active.select(
        userid=active.userid,
        **{ROW_COLUMN: active[ROW_COLUMN]},
        enrolled_on=active.enrolled_date.fill_null(legacy_timestamp(active.enrolleddate)),
        completed_on=active.completedon,
        status=active.status.fill_null(0).cast("int32"),
        cert_issued=_non_empty(active.issued_certificates) | _non_empty(active.certificates),
        certstatus=active.certstatus.cast("int32"),
        has_status=_non_empty(active.contentstatus),
        **{f"done_{i}": done_count(done, node.members) for i, node in enumerate(collections)},
    )


def activity_counts(activity: ir.Table) -> ir.Table:
    """(userid, activity_id, completed_count) from `aggregates['completedCount']`.

    Not deduplicated: a learner's rows for one activity under two activity types each give a progress,
    and the engine keeps the highest (its pivot takes the maximum), which is deterministic.
    """
    count = activity.aggregates.get("completedCount")
    return activity.select(
        userid=activity.user_id,
        activity_id=activity.activity_id,
        completed_count=count.fill_null(0).cast("int64"),
    )


def unwrapped_board(board: ir.StringValue) -> ir.StringValue:
    """`board` may hold a JSON array as text (`["IGOT-Health"]`): its first element (null for `[]`)."""
    first = board.re_extract(r'^[ \t\n\r]*\[[ \t\n\r]*"((?:[^"\\]|\\.)*)"', 1)
    is_array = board.lstrip().startswith("[").fill_null(False)
    empty_array = board.re_search(r"^[ \t\n\r]*\[[ \t\n\r]*\][ \t\n\r]*$").fill_null(False)
    return ibis.cases((empty_array, ibis.null("string")), (is_array, first), else_=board)


def load_batch(
    source: Source,
    batch_id: str,
    backend: Backend,
    rules: AssessmentRules | None = None,
    *,
    tree: dict | None = None,
) -> BatchData:
    """Scan everything one batch's reports need (and only that) into `backend`, flattened there
    (`tree`: the collection's hierarchy, when the caller has already read it)."""
    batch = source.batch(batch_id)
    course_id = batch["courseid"]
    hierarchy = read_hierarchy(tree if tree is not None else source.hierarchy(course_id), rules)
    scanned = backend.scan(
        "enrolments", source.scan("user_enrolments", {"batchid": [batch_id]}, ENROLMENT_COLUMNS)
    )
    optional = source.optional_nodes(course_id)
    nodes = [hierarchy.root, *hierarchy.nested]
    active = scanned.filter(scanned.active.fill_null(False) & (scanned.courseid == course_id))
    # Flattened row by row first, then deduplicated: only the narrow scalar rows (no map) are held by
    # the semi join and by the consumers the engine shares them with.
    enrolments = first_rows(flattened_enrolments(active, optional, nodes), "userid")
    enrolments = backend.stage("enrolments", enrolments)
    activity = backend.scan(
        "activity",
        source.scan("user_activity_agg", {"context_id": [f"cb:{batch_id}"]}, ACTIVITY_COLUMNS),
    )
    enrolled = enrolments.select("userid")

    def enrolled_ids() -> list[str]:  # only for a user cache keyed by id (Redis)
        return backend.execute(enrolled.order_by("userid")).column("userid").to_pylist()

    profiles = backend.scan("users", source.scan_users(enrolled_ids, list(USER_FIELDS)))
    candidates = profiles.select("userid", ROW_COLUMN)
    candidates = candidates.semi_join(enrolled, candidates.userid == enrolled.userid)
    profiles = first_rows(profiles, "userid", among=candidates)
    profiles = profiles.mutate(board=unwrapped_board(profiles.board))
    return BatchData(
        batch=batch,
        hierarchy=hierarchy,
        backend=backend,
        enrolments=enrolments,
        activity=activity_counts(activity),
        users=profiles,
    )
