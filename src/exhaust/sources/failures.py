"""Errors of remote sources (databases, caches, HTTP services), safe to show as a job's error.

A remote source that is down, slow or refusing must end the job with one plain sentence, never a hang
or a traceback; the sentence names the service by its URL with any password removed.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from exhaust.errors import TransientError


class SourceUnavailable(TransientError):
    """A remote source could not be reached or did not answer in time (transient: retried)."""

    reason = "the platform data could not be read"


def redact_url(url: str) -> str:
    """`url` without its password (and without query parameters, which may carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:***@{host}" if ":" in user else f"{name}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
