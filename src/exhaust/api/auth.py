"""What a caller may do (SPEC §5.2): channels, roles and the one rule of who may act on which batch,
`may_act_on_batch`, which the API and the dashboard both call. Who the caller is comes from a bearer
token (`api/tokens.py`) as a `Principal` (`api/principal.py`); both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exhaust.api.batches import BatchFacts
from exhaust.api.principal import COURSE_MENTOR, ORG_ADMIN, ROLES, SERVICE, Principal
from exhaust.api.tokens import (
    MAX_CACHED_TOKENS,
    TOKEN_PREFIX,
    TokenInfo,
    TokenStore,
    bearer_token,
    check_roles,
    hash_token,
    parse_lifetime,
    token_table,
)

__all__ = [
    "CHANNEL_MISSING", "COURSE_MENTOR", "MAX_CACHED_TOKENS", "NOT_AUTHORIZED", "ORG_ADMIN", "ROLES",
    "SERVICE", "TOKEN_PREFIX", "Principal", "TokenInfo", "TokenStore", "bearer_token", "channel_denial",
    "check_roles", "consumer_denied", "hash_token", "may_act_on_batch", "may_use_search_filter",
    "parse_lifetime", "token_table",
]  # fmt: skip

#: Sunbird's messages (research §3.3).
NOT_AUTHORIZED = "You are not authorized."
CHANNEL_MISSING = "X-Channel-ID is missing in request header"


def consumer_denied(consumer: str, channel: str) -> str:
    """Sunbird's message for a service consumer calling for a channel it is not mapped to."""
    return f"Given X-Consumer-ID='{consumer}' and X-Channel-ID='{channel[:100]}' are not authorized"


# ---- the rules ---------------------------------------------------------------------------------
def channel_denial(principal: Principal, channel_header: str | None) -> str | None:
    """Why the caller may not act for the `X-Channel-ID` channel at all (None when it may)."""
    if not channel_header:
        return CHANNEL_MISSING
    if channel_header != principal.channel:
        return consumer_denied(principal.name, channel_header) if principal.is_service else NOT_AUTHORIZED
    if not principal.roles & set(ROLES):
        return NOT_AUTHORIZED
    return None


def may_act_on_batch(principal: Principal, batch: BatchFacts) -> bool:
    """The one rule of who may request, read or list reports of a batch.

    The batch's course must belong to the caller's channel (the course hierarchy's `channel`; when the
    course has no hierarchy, the batch's `created_for` must list the channel). Then an org admin or a
    service consumer of that channel may act on it, and a course mentor only when listed in the batch's
    `mentors`.
    """
    if not batch.in_channel(principal.channel):
        return False
    if principal.is_org_admin or principal.is_service:
        return True
    return COURSE_MENTOR in principal.roles and bool(principal.user_id) and principal.user_id in batch.mentors


def may_use_search_filter(principal: Principal, filters: Mapping[str, Sequence[str]]) -> bool:
    """A searchFilter selects whole collections: org admins and services only, and only their channel's."""
    if not (principal.is_org_admin or principal.is_service):
        return False
    return tuple(filters.get("channel", ())) == (principal.channel,)
