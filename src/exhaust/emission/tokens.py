"""Emission API tokens, checked as Kong's jwt plugin checks them (research §3.3).

A consumer has credentials: a key and a secret. A token is an HS256 JWT whose `iss` is the key, signed
with the secret; it may carry an `exp`. So a token cQube's admin console minted keeps working once its
Kong key and secret are imported (`exhaust emission token import`). Revoking a consumer revokes every
credential it has. The secret must be kept to check signatures (as Kong keeps it); it never leaves the
database and is never logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.emission.tables import emission_credential
from exhaust.errors import BadInput, EmissionUnauthorized
from exhaust.jobs.db import utcnow


@dataclass(frozen=True)
class Consumer:
    name: str
    admin: bool


class Credentials:
    """The emission consumers' credentials in the cQube database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, consumer: str, *, admin: bool = False, expires_days: int | None = None) -> str:
        """A new credential for `consumer` and the token made with it (the only time it is shown)."""
        consumer = _consumer_name(consumer)
        key, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
        self._add(consumer, key, secret, admin)
        claims: dict[str, Any] = {"iss": key}
        if expires_days is not None:
            if expires_days < 1:
                raise BadInput("--expires-days must be at least 1")
            claims["exp"] = int((utcnow() + timedelta(days=expires_days)).timestamp())
        return jwt.encode(claims, secret, algorithm="HS256")

    def import_credential(self, consumer: str, key: str, secret: str, *, admin: bool = False) -> None:
        """Adopt a Kong jwt credential (key = the tokens' `iss`, secret = their HS256 key)."""
        if not key or not secret:
            raise BadInput("give both the credential's key and its secret")
        self._add(_consumer_name(consumer), key, secret, admin)

    def _add(self, consumer: str, key: str, secret: str, admin: bool) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(emission_credential).values(
                        key=key, consumer=consumer, secret=secret, admin=admin, created_at=utcnow()
                    )
                )
        except sa.exc.IntegrityError:
            raise BadInput("a credential with this key exists already") from None

    def revoke(self, consumer: str) -> int:
        """Revoke every credential of `consumer`; returns how many were active."""
        with self.engine.begin() as conn:
            return conn.execute(
                sa.update(emission_credential)
                .where(emission_credential.c.consumer == consumer, emission_credential.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount

    def consumers(self) -> list[dict[str, Any]]:
        query = sa.select(
            emission_credential.c.consumer,
            emission_credential.c.admin,
            emission_credential.c.created_at,
            emission_credential.c.revoked_at,
        ).order_by(emission_credential.c.consumer, emission_credential.c.created_at)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def verify(self, authorization: str | None) -> Consumer:
        """The consumer behind an `Authorization: Bearer <jwt>` header, or `EmissionUnauthorized`."""
        scheme, _, token = (authorization or "").partition(" ")
        if not token.strip() or scheme.lower() != "bearer":
            raise EmissionUnauthorized("Unauthorized")
        token = token.strip()
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise EmissionUnauthorized("Bad token; invalid JSON") from None
        issuer = claims.get("iss") if isinstance(claims, dict) else None
        if not isinstance(issuer, str) or not issuer:
            raise EmissionUnauthorized("No mandatory 'iss' in claims")
        if header.get("alg") != "HS256":
            raise EmissionUnauthorized("Invalid algorithm")
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(emission_credential).where(emission_credential.c.key == issuer)
            ).first()
        if row is None:
            raise EmissionUnauthorized("No credentials found for given 'iss'")
        if row.revoked_at is not None:
            raise EmissionUnauthorized("This token has been revoked")
        try:
            jwt.decode(token, row.secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise EmissionUnauthorized("Token expired") from None
        except jwt.PyJWTError:
            raise EmissionUnauthorized("Invalid signature") from None
        return Consumer(row.consumer, bool(row.admin))


def _consumer_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise BadInput("a consumer needs a name of 1 to 200 characters")
    return name
