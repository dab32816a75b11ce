"""The caller behind a valid bearer token: one channel, its roles, and the user it acts as (if any)."""

from __future__ import annotations

from dataclasses import dataclass

ORG_ADMIN, COURSE_MENTOR, SERVICE = "ORG_ADMIN", "COURSE_MENTOR", "SERVICE"
ROLES: tuple[str, ...] = (ORG_ADMIN, COURSE_MENTOR, SERVICE)


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token."""

    token_id: str
    channel: str
    roles: frozenset[str]
    user_id: str | None

    @property
    def is_service(self) -> bool:
        return SERVICE in self.roles

    @property
    def is_org_admin(self) -> bool:
        return ORG_ADMIN in self.roles

    @property
    def name(self) -> str:
        """The user id, or for a service without one its token id (Sunbird's consumer id)."""
        return self.user_id or self.token_id
