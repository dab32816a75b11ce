"""Which engine fields each dataset offers to its profiles, and how its rows are ordered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis.expr.types as ir

from exhaust.engine.learners import Learners
from exhaust.engine.progress import Dynamic, progress_fields
from exhaust.sources.base import Source


@dataclass
class Fields:
    """A dataset's per-row table, its dynamic groups and the columns that order its rows."""

    table: ir.Table
    groups: dict[str, list[Dynamic]] = field(default_factory=dict)
    order_by: tuple[str, ...] = ("user_id",)


@dataclass(frozen=True)
class RequestContext:
    """Who asked: the requesting channel decides consent (user info, mentor and response reports)."""

    requested_channel: str | None = None


FieldBuilder = Callable[[Learners, Source, RequestContext], Fields]


def _progress(lx: Learners, source: Source, context: RequestContext) -> Fields:
    built = progress_fields(lx, source)
    table = built.table.mutate(user_id=built.table.userid)
    rebound = {
        "nested_collection": [Dynamic(d.id, {k: _rebind(v, table) for k, v in d.fields.items()}) for d in built.nested],
        "assessment": [Dynamic(d.id, {k: _rebind(v, table) for k, v in d.fields.items()}) for d in built.assessments],
    }
    return Fields(table, rebound)


def _rebind(value: ir.Value, table: ir.Table) -> ir.Value:
    """Point a column expression of the pre-mutate table at the same-named column of `table`."""
    name = value.get_name() if isinstance(value, ir.Column) else None
    return table[name] if name in table.columns else value


DATASETS: dict[str, FieldBuilder] = {"progress-exhaust": _progress}
