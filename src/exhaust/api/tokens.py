"""API bearer tokens: created, listed and revoked by operators, checked on every call (SPEC §5.2).

A token names a user (org admin or course mentor) or a service consumer, with one channel and its roles.
Only a SHA-256 of the token is stored: tokens are 256-bit random strings, so a fast hash is enough and a
database dump gives nobody a usable token. What a caller may then do is `api/auth.py`'s business.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.api.principal import ROLES, SERVICE, Principal
from exhaust.errors import BadInput
from exhaust.jobs.db import UTCDateTime, is_postgres, utcnow

TOKEN_PREFIX = "exh"
MAX_CACHED_TOKENS = 10_000


def token_table(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(100)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("expires_at", UTCDateTime()),  # None: never expires
        sa.Index(f"ix_{name}_hash", "token_hash", unique=True),
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_roles(roles: Iterable[str], user_id: str | None) -> frozenset[str]:
    """Validate the roles of a new token: known ones; SERVICE alone; a user id for user roles."""
    wanted = frozenset(role.strip().upper() for role in roles if role.strip())
    if not wanted:
        raise BadInput(f"give at least one role: {', '.join(ROLES)}")
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise BadInput(f"unknown role {', '.join(unknown)}: use {', '.join(ROLES)}")
    if SERVICE in wanted and len(wanted) > 1:
        raise BadInput("a SERVICE token cannot also have user roles")
    if SERVICE not in wanted and not user_id:
        raise BadInput("a user token (ORG_ADMIN, COURSE_MENTOR) needs --user")
    return wanted


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as listed to an operator (never the token itself)."""

    token_id: str
    channel: str
    roles: tuple[str, ...]
    user_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None


def parse_lifetime(text: str) -> timedelta:
    """A token lifetime such as `90d`, `12h`, `30m` or `2w` (a whole number and a unit)."""
    units = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    value = text.strip().lower()
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit() or int(value[:-1]) < 1:
        raise BadInput(f"invalid lifetime {text!r}: use a whole number and m, h, d or w, e.g. 90d")
    seconds = int(value[:-1]) * units[value[-1]]
    if seconds > 100 * 365 * 86400:
        raise BadInput(f"invalid lifetime {text!r}: at most 100 years")
    return timedelta(seconds=seconds)


class TokenStore:
    """Creates, checks and revokes API tokens in the job store's database.

    A checked token is remembered for `cache_seconds` (default 5), so a burst of calls costs one
    database read; a revocation therefore takes effect in every API process within that time.
    """

    def __init__(self, engine: Engine, table: str = "api_token", cache_seconds: float = 5.0) -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        self.t = token_table(table, self.metadata)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None, datetime | None]] = {}
        self._lock = threading.Lock()

    def ensure_table(self) -> None:
        """Create the table when missing (idempotent; one process at a time on PostgreSQL)."""
        inspector = sa.inspect(self.engine)
        if inspector.has_table(self.t.name):
            if "expires_at" not in {c["name"] for c in inspector.get_columns(self.t.name)}:
                self._add_expiry_column()
            return
        with self.engine.begin() as conn:
            if is_postgres(self.engine):
                lock = zlib.crc32(f"exhaust:{self.t.name}".encode())
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
            self.metadata.create_all(conn, checkfirst=True)

    def _add_expiry_column(self) -> None:
        """Tables made before tokens could expire get the (nullable) `expires_at` column."""
        with self.engine.begin() as conn:
            if is_postgres(self.engine):
                lock = zlib.crc32(f"exhaust:{self.t.name}".encode())
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
                conn.exec_driver_sql(
                    f'ALTER TABLE "{self.t.name}" ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ'
                )
            else:
                conn.exec_driver_sql(f'ALTER TABLE "{self.t.name}" ADD COLUMN expires_at DATETIME')

    def create(
        self,
        *,
        channel: str,
        roles: Iterable[str],
        user_id: str | None = None,
        expires_in: timedelta | None = None,
    ) -> str:
        """Store a new token and return it (the only time it is ever shown); it expires after
        `expires_in` when given, else never (revoke it to end it)."""
        channel = channel.strip()
        if not channel or len(channel) > 100:
            raise BadInput(
                "the token needs a channel (the org id sent as X-Channel-ID), at most 100 characters"
            )
        if user_id is not None and len(user_id) > 100:
            raise BadInput("the user id must be at most 100 characters")
        wanted = check_roles(roles, user_id)
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(self.t).values(
                    token_id=token_id,
                    token_hash=hash_token(token),
                    channel=channel,
                    roles=",".join(sorted(wanted)),
                    user_id=user_id or None,
                    created_at=utcnow(),
                    expires_at=utcnow() + expires_in if expires_in is not None else None,
                )
            )
        return token

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token, else None."""
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] <= self.cache_seconds:
            if cached[2] is not None and cached[2] <= utcnow():
                return None  # expired while cached
            return cached[1]
        query = sa.select(self.t).where(self.t.c.token_hash == digest, self.t.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        found = None
        if row is not None and (row["expires_at"] is None or row["expires_at"] > utcnow()):
            found = Principal(
                token_id=row["token_id"],
                channel=row["channel"],
                roles=frozenset(r for r in row["roles"].split(",") if r),
                user_id=row["user_id"],
            )
        with self._lock:
            if len(self._cache) >= MAX_CACHED_TOKENS:
                self._cache.clear()
            self._cache[digest] = (now, found, row["expires_at"] if row is not None else None)
        return found

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False when no active token has that id."""
        with self._lock:
            self._cache.clear()
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    sa.update(self.t)
                    .where(self.t.c.token_id == token_id, self.t.c.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                ).rowcount
                == 1
            )

    def list(self) -> list[TokenInfo]:
        query = sa.select(self.t).order_by(self.t.c.created_at)
        with self.engine.connect() as conn:
            return [
                TokenInfo(
                    token_id=row["token_id"],
                    channel=row["channel"],
                    roles=tuple(r for r in row["roles"].split(",") if r),
                    user_id=row["user_id"],
                    created_at=row["created_at"],
                    revoked_at=row["revoked_at"],
                    expires_at=row["expires_at"],
                )
                for row in conn.execute(query).mappings()
            ]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None
