"""Sign-in sessions: an API token exchanged for an HttpOnly, SameSite cookie, and CSRF tokens for forms.

The cookie holds a random session id; the database keeps only its SHA-256, the token id it stands for and
the session's CSRF token. Every page looks the token up again, so revoking the token (`exhaust token
revoke`) ends its sessions too, and signing out deletes the row, so a copied cookie stops working.
Before sign-in, the sign-in form is protected by a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from exhaust.api.auth import Principal, TokenStore
from exhaust.dashboard.store import DashboardStore
from exhaust.jobs.db import utcnow

SESSION_COOKIE = "exhaust_session"
SIGNIN_CSRF_COOKIE = "exhaust_signin_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens (a missing one never matches)."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


@dataclass(frozen=True)
class Session:
    """A signed-in user: who they are (as the API sees them) and the CSRF token of their forms."""

    principal: Principal
    csrf: str


class Sessions:
    """Opens, reads and ends sessions in the dashboard store."""

    def __init__(self, store: DashboardStore, tokens: TokenStore, lifetime: timedelta) -> None:
        self.store = store
        self.tokens = tokens
        self.lifetime = lifetime

    def open(self, principal: Principal) -> str:
        """A new session for `principal`; returns the cookie value (shown only to the browser)."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        with self.store.engine.begin() as conn:
            conn.execute(
                sa.delete(self.store.sessions).where(self.store.sessions.c.expires_at < now)
            )  # expired sessions of anyone: the table stays small without a sweeper
            conn.execute(
                sa.insert(self.store.sessions).values(
                    session_hash=_digest(session_id),
                    token_id=principal.token_id,
                    csrf=secrets.token_urlsafe(32),
                    created_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return session_id

    def read(self, session_id: str | None) -> Session | None:
        """The live session of a cookie value: not expired, not signed out, its token not revoked."""
        if not session_id or len(session_id) > 100:
            return None
        s, t = self.store.sessions, self.tokens.t
        query = (
            sa.select(s.c.csrf, t.c.token_id, t.c.channel, t.c.roles, t.c.user_id)
            .join(t, t.c.token_id == s.c.token_id)
            .where(
                s.c.session_hash == _digest(session_id),
                s.c.expires_at > utcnow(),
                t.c.revoked_at.is_(None),
            )
        )
        with self.store.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        principal = Principal(
            token_id=row["token_id"],
            channel=row["channel"],
            roles=frozenset(r for r in row["roles"].split(",") if r),
            user_id=row["user_id"],
        )
        return Session(principal, row["csrf"])

    def close(self, session_id: str | None) -> None:
        if not session_id:
            return
        with self.store.engine.begin() as conn:
            conn.execute(
                sa.delete(self.store.sessions).where(
                    self.store.sessions.c.session_hash == _digest(session_id)
                )
            )
