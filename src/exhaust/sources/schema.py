"""The logical tables of Sunbird's data model (SPEC §2) as explicit Arrow schemas.

Every adapter yields tables with exactly these columns and types, so the engine never has to guess.
Names are Sunbird's, so a dump of a deployment loads unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
STR = pa.string()
TEXT_MAP = pa.map_(pa.string(), pa.string())
TEXT_MAP_LIST = pa.list_(TEXT_MAP)

QUESTION = pa.struct(
    [
        ("id", STR),
        ("assess_ts", TS),
        ("max_score", pa.float64()),
        ("score", pa.float64()),
        ("type", STR),
        ("title", STR),
        ("resvalues", TEXT_MAP_LIST),
        ("params", TEXT_MAP_LIST),
        ("description", STR),
        ("duration", pa.float64()),
    ]
)

USER_FIELDS = (
    "userid",
    "firstname",
    "lastname",
    "state",
    "district",
    "block",
    "cluster",
    "schoolname",
    "schooludisecode",
    "orgname",
    "rootorgid",
    "externalid",
    "email",
    "phone",
    "board",
    "usertype",
    "usersubtype",
    "declaredorg",
    "usersignintype",
)


@dataclass(frozen=True)
class TableSpec:
    """One logical table: its Arrow schema, key columns and whether every report needs it."""

    name: str
    schema: pa.Schema
    keys: tuple[str, ...]
    required: bool = False
    needs: tuple[str, ...] | None = None  # columns a stored table must have; None: its keys

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns a stored table must have: a misnamed or missing one would give empty or blank reports."""
        return self.keys if self.needs is None else self.needs


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "course_batch",
            pa.schema(
                [
                    ("batchid", STR),
                    ("courseid", STR),
                    ("name", STR),
                    ("start_date", STR),
                    ("end_date", STR),
                    ("enrollment_type", STR),
                    ("status", pa.int32()),
                    ("created_for", pa.list_(STR)),
                    ("mentors", pa.list_(STR)),
                ]
            ),
            ("batchid",),
            required=True,
            needs=("batchid", "courseid"),
        ),
        TableSpec(
            "user_enrolments",
            pa.schema(
                [
                    ("userid", STR),
                    ("courseid", STR),
                    ("batchid", STR),
                    ("active", pa.bool_()),
                    ("enrolled_date", TS),
                    ("enrolleddate", STR),
                    ("completedon", TS),
                    ("status", pa.int32()),
                    ("progress", pa.int32()),
                    ("contentstatus", pa.map_(STR, pa.int32())),
                    ("certificates", TEXT_MAP_LIST),
                    ("issued_certificates", TEXT_MAP_LIST),
                    ("certstatus", pa.int32()),
                ]
            ),
            ("userid", "courseid", "batchid"),
            required=True,
            needs=("userid", "batchid"),  # the rows a batch reads, and whose they are
        ),
        TableSpec(
            "user_activity_agg",
            pa.schema(
                [
                    ("activity_type", STR),
                    ("activity_id", STR),
                    ("user_id", STR),
                    ("context_id", STR),
                    ("aggregates", pa.map_(STR, pa.float64())),
                ]
            ),
            ("activity_type", "activity_id", "user_id", "context_id"),
        ),
        TableSpec(
            "assessment_aggregator",
            pa.schema(
                [
                    ("course_id", STR),
                    ("batch_id", STR),
                    ("user_id", STR),
                    ("content_id", STR),
                    ("attempt_id", STR),
                    ("last_attempted_on", TS),
                    ("total_score", pa.float64()),
                    ("total_max_score", pa.float64()),
                    ("grand_total", STR),
                    ("question", pa.list_(QUESTION)),
                ]
            ),
            ("course_id", "batch_id", "user_id", "content_id", "attempt_id"),
        ),
        TableSpec(
            "user_consent",
            pa.schema(
                [
                    ("user_id", STR),
                    ("consumer_id", STR),
                    ("object_id", STR),
                    ("object_type", STR),
                    ("status", STR),
                    ("created_on", TS),
                    ("last_updated_on", TS),
                ]
            ),
            ("user_id", "consumer_id", "object_id"),
        ),
        TableSpec("users", pa.schema([(name, STR) for name in USER_FIELDS]), ("userid",)),
        TableSpec(
            "content_hierarchy",
            pa.schema([("identifier", STR), ("hierarchy", STR)]),
            ("identifier",),
            required=True,
            needs=("identifier", "hierarchy"),
        ),
        TableSpec(
            "system_settings",
            pa.schema([("id", STR), ("field", STR), ("value", STR)]),
            ("id",),
            needs=("id", "value"),
        ),
    )
}


def empty_table(name: str) -> pa.Table:
    """An empty table with the logical schema of `name`."""
    return TABLES[name].schema.empty_table()
