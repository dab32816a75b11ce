"""PostgreSQL source URLs (`postgresql://user@host/db?schema=S`), read without loading the driver, so that
a source spec can be recognised even where the [postgres] extra is not installed."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from exhaust.errors import BadInput
from exhaust.sources.failures import redact_url

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def is_postgres_url(spec: str) -> bool:
    return spec.split("://", 1)[0].lower() in SCHEMES


def parse_postgres_spec(spec: str) -> tuple[str, str]:
    """(libpq connection URL, schema) from `postgresql://…?schema=S`; the schema defaults to `public`."""
    parts = urlsplit(spec)
    if parts.scheme.lower() not in SCHEMES:
        raise BadInput(f"not a PostgreSQL URL: {redact_url(spec)}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    rest = [(key, value) for key, value in query if key != "schema"]
    schema = schemas[-1] if schemas else "public"
    if not schema:
        raise BadInput("the PostgreSQL source URL has an empty schema= parameter")
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(rest), "")), schema
