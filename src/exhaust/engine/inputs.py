"""Gather one batch's data from a Source and flatten it into plain columnar tables.

Maps and lists (contentstatus, aggregates, certificates) are unnested here with vectorised Arrow
kernels, so the Ibis expressions only see flat scalar columns that every backend (DuckDB, Spark) handles
the same way. Nothing here loops over learners.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.engine.hierarchy import AssessmentRules, Hierarchy, read_hierarchy
from exhaust.sources.base import Source

TS = pa.timestamp("ms", tz="UTC")


@dataclass
class BatchData:
    """One batch's flattened inputs, ready to load into an engine backend."""

    batch: dict
    hierarchy: Hierarchy
    enrolments: pa.Table  # userid, enrolled_on, completed_on, status, cert_issued, certstatus, has_status
    completed_contents: pa.Table  # userid, content_id: contentstatus entries at 2, optional nodes removed
    activity: pa.Table  # userid, activity_id, completed_count (context cb:<batch>)
    users: pa.Table  # the `users` logical table, one row per user, board unwrapped
    raw_enrolments: pa.Table  # active enrolments in the logical schema (for reports needing more)
    attempts: pa.Table | None = None  # assessment attempts, when read once for a report built in parts

    @property
    def batch_id(self) -> str:
        return self.batch["batchid"]

    @property
    def course_id(self) -> str:
        return self.batch["courseid"]

    @property
    def user_ids(self) -> list[str]:
        return self.enrolments.column("userid").to_pylist()

    def user_chunks(self, size: int) -> list[BatchData]:
        """The batch split into contiguous ranges of sorted user ids, so per-chunk results sorted by user
        concatenate into a sorted whole (reports whose rows multiply per learner are built this way)."""
        ids = sorted(self.user_ids)
        if len(ids) <= size:
            return [self]
        return [self.restricted(ids[start : start + size]) for start in range(0, len(ids), size)]

    def restricted(self, user_ids: list[str]) -> BatchData:
        """The same batch with only `user_ids`' rows."""
        wanted = pa.array(user_ids, pa.string())

        def only(table: pa.Table, column: str = "userid") -> pa.Table:
            return table.filter(pc.is_in(table.column(column), value_set=wanted))

        return BatchData(
            batch=self.batch,
            hierarchy=self.hierarchy,
            enrolments=only(self.enrolments),
            completed_contents=only(self.completed_contents),
            activity=only(self.activity),
            users=only(self.users),
            raw_enrolments=only(self.raw_enrolments),
            attempts=None if self.attempts is None else only(self.attempts, "user_id"),
        )


def first_per_key(table: pa.Table, keys: list[str]) -> pa.Table:
    """Keep the first row of each key (sources may repeat a primary key)."""
    if table.num_rows == 0:
        return table
    if len(keys) == 1 and pc.count_distinct(table.column(keys[0]), mode="all").as_py() == table.num_rows:
        return table  # the usual case: no key repeats, nothing to copy
    indexed = table.select(keys).append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    first = indexed.group_by(keys, use_threads=False).aggregate([("__row", "min")]).column("__row_min")
    return table.take(pc.take(first, pc.sort_indices(first)))


def parse_legacy_dates(text: pa.ChunkedArray) -> pa.Array:
    """Parse Sunbird's legacy `enrolleddate` text (`2019-11-13 05:41:50:382+0000`) to UTC timestamps."""
    normalised = pc.replace_substring_regex(text, r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d):(\d{1,3})", r"\1.\2")
    normalised = pc.replace_substring_regex(normalised, r"([+-]\d\d)(\d\d)$", r"\1:\2")
    normalised = pc.replace_substring_regex(normalised, r"[Zz]$", "+00:00")
    parsed = pd.to_datetime(pd.Series(normalised.to_pandas()), utc=True, format="ISO8601", errors="coerce")
    return pa.array(parsed, type=TS)


def _entries(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """A map column as a list of (key, value) structs, which every list kernel accepts."""
    if pa.types.is_map(values.type):
        entry = pa.struct([("key", values.type.key_type), ("value", values.type.item_type)])
        return values.cast(pa.list_(entry))
    return values


def _non_empty(lists: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(pc.greater(pc.list_value_length(_entries(lists)), 0), False)


def flatten_enrolments(active: pa.Table) -> pa.Table:
    """Scalar enrolment columns: dates, status and certificate facts."""
    enrolled = pc.coalesce(active.column("enrolled_date"), parse_legacy_dates(active.column("enrolleddate")))
    issued = pc.or_(
        _non_empty(active.column("issued_certificates")), _non_empty(active.column("certificates"))
    )
    has_status = _non_empty(active.column("contentstatus"))
    return pa.table(
        {
            "userid": active.column("userid"),
            "enrolled_on": enrolled,
            "completed_on": active.column("completedon"),
            "status": pc.fill_null(active.column("status"), 0).cast(pa.int32()),
            "cert_issued": issued,
            "certstatus": active.column("certstatus").cast(pa.int32()),
            "has_status": has_status,
        }
    )


def completed_contents(active: pa.Table, optional: set[str]) -> pa.Table:
    """(userid, content_id) for every contentstatus entry equal to 2, optional nodes excluded."""
    statuses = _entries(active.column("contentstatus")).combine_chunks()
    parents = pc.list_parent_indices(statuses)
    flat = pc.list_flatten(statuses)
    keep = pc.equal(flat.field("value"), 2)
    if optional:
        keep = pc.and_(keep, pc.invert(pc.is_in(flat.field("key"), value_set=pa.array(sorted(optional)))))
    keep = pc.fill_null(keep, False)
    users = pc.take(active.column("userid"), pc.filter(parents, keep))  # only the kept entries' learners
    return pa.table({"userid": users, "content_id": pc.filter(flat.field("key"), keep)})


def completed_counts(activity: pa.Table) -> pa.Table:
    """(userid, activity_id, completed_count) from `aggregates['completedCount']`.

    Not deduplicated: a learner's rows for one activity under two activity types each give a progress,
    and the engine keeps the highest (its pivot takes the maximum), which is deterministic.
    """
    count = pc.map_lookup(activity.column("aggregates"), "completedCount", "first")
    table = pa.table(
        {
            "userid": activity.column("user_id"),
            "activity_id": activity.column("activity_id"),
            "completed_count": pc.fill_null(count, 0).cast(pa.int64()),
        }
    )
    return table


def unwrap_board(users: pa.Table) -> pa.Table:
    """`board` may hold a JSON array as text (`["IGOT-Health"]`): keep its first element."""
    board = users.column("board").combine_chunks()
    first = pc.struct_field(pc.extract_regex(board, r'^\s*\[\s*"(?P<first>(?:[^"\\]|\\.)*)"'), "first")
    is_array = pc.fill_null(pc.starts_with(pc.utf8_ltrim_whitespace(board), "["), False)
    empty_array = pc.fill_null(pc.match_substring_regex(board, r"^\s*\[\s*\]\s*$"), False)
    unwrapped = pc.if_else(empty_array, pa.scalar(None, pa.string()), pc.if_else(is_array, first, board))
    return users.set_column(users.schema.get_field_index("board"), "board", unwrapped)


def load_batch(
    source: Source, batch_id: str, rules: AssessmentRules | None = None, *, tree: dict | None = None
) -> BatchData:
    """Read everything one batch's reports need, and only that (`tree`: the hierarchy, when already read)."""
    batch = source.batch(batch_id)
    hierarchy = read_hierarchy(tree if tree is not None else source.hierarchy(batch["courseid"]), rules)
    enrolments = source.enrolments(batch_id)
    enrolments = enrolments.filter(
        pc.and_(
            pc.fill_null(enrolments.column("active"), False),
            pc.equal(enrolments.column("courseid"), batch["courseid"]),
        )
    )
    enrolments = first_per_key(enrolments, ["userid"])
    user_ids = enrolments.column("userid").to_pylist()
    users = first_per_key(source.users(user_ids), ["userid"]) if user_ids else source.users([])
    optional = source.optional_nodes(batch["courseid"])
    return BatchData(
        batch=batch,
        hierarchy=hierarchy,
        enrolments=flatten_enrolments(enrolments),
        completed_contents=completed_contents(enrolments, optional),
        activity=completed_counts(source.activity(batch_id)),
        users=unwrap_board(users),
        raw_enrolments=enrolments,
    )
