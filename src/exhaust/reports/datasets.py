"""Which engine fields each dataset offers to its profiles, and how its rows are ordered.

The builders are named by the dataset registry (`reports/registry.py`), which describes each dataset once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis.expr.types as ir

from exhaust.engine.consent import with_consent
from exhaust.engine.learners import Learners
from exhaust.engine.progress import Dynamic, progress_fields
from exhaust.engine.responses import response_fields
from exhaust.engine.userinfo import under_consent, userinfo_fields
from exhaust.sources.base import Source

ENCRYPTED_FIELDS = ("email", "phone")


@dataclass
class Fields:
    """A dataset's per-row table, its dynamic groups, the columns ordering its rows, and PII to decrypt."""

    table: ir.Table
    groups: dict[str, list[Dynamic]] = field(default_factory=dict)
    order_by: tuple[str, ...] = ("user_id",)
    encrypted: tuple[str, ...] = ()
    #: On DuckDB the engine formats and writes the sorted rows itself in one `COPY` (when no column needs
    #: Python). It pays for long reports keyed by a few columns (the response exhaust: 1.36 GB peak at
    #: 100,000 learners, against 1.54 GB streamed); wide per-learner rows sort in less memory as typed
    #: values, formatted afterwards (the progress report of 30,000 learners fits 64 MB only that way).
    engine_writes: bool = False


@dataclass(frozen=True)
class RequestContext:
    """Who asked (the requesting channel decides consent) and which fields the profile shows.

    `wanted` holds static field names and `group.field` names; builders skip work nobody will see.
    """

    requested_channel: str | None = None
    wanted: frozenset[str] = frozenset()

    def wants(self, name: str) -> bool:
        return name in self.wanted

    def channel_for(self, lx: Learners) -> str:
        """The requesting channel, or the collection's own channel when none is given (CLI use)."""
        return self.requested_channel or lx.data.hierarchy.channel or ""


FieldBuilder = Callable[[Learners, Source, RequestContext], Fields]


def progress_builder(lx: Learners, source: Source, context: RequestContext) -> Fields:
    built = progress_fields(
        lx,
        source,
        nested=any(n.startswith("nested_collection.") for n in context.wanted),
        attempt_details=context.wants("total_score_percent") or context.wants("assessment.score_percent"),
    )
    table = built.table.mutate(user_id=built.table.userid)
    rebound = {
        "nested_collection": [_rebound(d, table) for d in built.nested],
        "assessment": [_rebound(d, table) for d in built.assessments],
    }
    return Fields(table, rebound)


def _rebound(member: Dynamic, table: ir.Table) -> Dynamic:
    """Point a group's column expressions at the same-named columns of `table` (after a mutate)."""
    fields = {}
    for key, value in member.fields.items():
        name = value.get_name() if isinstance(value, ir.Column) else None
        fields[key] = table[name] if name in table.columns else value
    return Dynamic(member.id, fields)


def userinfo_builder(lx: Learners, source: Source, context: RequestContext) -> Fields:
    return Fields(userinfo_fields(lx, source, context.channel_for(lx)), encrypted=ENCRYPTED_FIELDS)


def response_builder(lx: Learners, source: Source, context: RequestContext) -> Fields:
    table = response_fields(lx, source, context.channel_for(lx))
    return Fields(table, order_by=("user_id", "content_id", "attempt_id", "position"), engine_writes=True)


def course_mentor_builder(lx: Learners, source: Source, context: RequestContext) -> Fields:
    """Progress with contact details: email, mobile and external id only under consent (SPEC §3.4)."""
    progress = progress_fields(lx, source, nested=False, attempt_details=False).table
    table = with_consent(lx, progress, source, context.channel_for(lx))
    table = table.mutate(**under_consent(table, ("external_id", "email", "phone")), user_id=table.userid)
    return Fields(table, encrypted=ENCRYPTED_FIELDS)
