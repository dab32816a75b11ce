"""User info exhaust and the course mentor report fields (SPEC §3.2, §3.4): profile data under consent."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from exhaust.engine.consent import with_consent
from exhaust.engine.learners import Learners
from exhaust.errors import BadInput
from exhaust.sources.base import Source

NOT_APPLICABLE = (
    "User info exhaust is not applicable for collections which don't request for user consent to share data"
)
CONSENT_FIELDS = ("external_id", "school_id", "school_name", "block", "phone", "email")


def require_user_consent(lx: Learners) -> None:
    """User info is only for collections that ask their learners for consent."""
    if not lx.data.hierarchy.user_consent:
        raise BadInput(NOT_APPLICABLE)


def under_consent(table: ir.Table, fields: tuple[str, ...]) -> dict[str, ir.Value]:
    """Each of `fields` kept for consenting learners, blank otherwise."""
    return {f: ibis.ifelse(table.consent_given, table[f], ibis.null("string")) for f in fields}


def userinfo_fields(lx: Learners, source: Source, channel: str) -> ir.Table:
    """One row per enrolled learner; consent-only columns blank without active consent."""
    require_user_consent(lx)
    table = with_consent(lx, lx.base, source, channel)
    consent_text = ibis.ifelse(table.consent_given, "Yes", "No")
    return table.mutate(
        **under_consent(table, CONSENT_FIELDS),
        consent_provided=consent_text,
        consent_provided_date=table.consent_date,
        user_id=table.userid,
        **lx.constants(),
    )
