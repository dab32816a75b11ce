"""Consent per (user, requesting channel, collection) from `user_consent` (SPEC §3.2)."""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.engine.inputs import first_per_key
from exhaust.engine.learners import Learners
from exhaust.sources.base import Source


def consent_rows(source: Source, collection_id: str, channel: str) -> pa.Table:
    """(userid, consent_given, consent_date): ACTIVE (any case) gives consent, dated by `last_updated_on`."""
    rows = source.consents(collection_id, channel)
    rows = first_per_key(rows, ["user_id"])
    active = pc.fill_null(pc.equal(pc.utf8_lower(rows.column("status")), "active"), False)
    date = pc.if_else(
        active, rows.column("last_updated_on"), pa.scalar(None, rows.schema.field("last_updated_on").type)
    )
    return pa.table({"c_userid": rows.column("user_id"), "consent_given": active, "consent_date": date})


def with_consent(lx: Learners, table: ir.Table, source: Source, channel: str) -> ir.Table:
    """`table` (one row per learner, column `userid`) with `consent_given` (never null) and `consent_date`."""
    consents = lx.backend.table("consents", consent_rows(source, lx.data.course_id, channel))
    joined = table.left_join(consents, table.userid == consents.c_userid).drop("c_userid")
    return joined.mutate(consent_given=joined.consent_given.fill_null(False))
