"""What a requester is told when an attempt fails: one plain sentence, never a server detail.

The log keeps the full detail (paths, endpoints, buckets, driver wording); `statusMessage` gets the
sentence of a terminal error with any URL or absolute path taken out, or the plain reason of a transient
one, or a fixed sentence for a fault of unknown kind.
"""

from __future__ import annotations

import re

from exhaust.errors import ExhaustError, TransientError, is_transient

UNEXPECTED = "an unexpected error occurred"
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"),;]+", re.IGNORECASE)
_BUCKET = re.compile(r"\bbucket\s+['\"]?[\w.-]+['\"]?", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?(?:[/\\][^\s/\\'\"),;:]+){2,}[/\\]?")


def scrub(text: str) -> str:
    """`text` without URLs, bucket names and absolute paths (replaced by neutral words)."""
    text = _URL.sub("a service", text)
    text = _BUCKET.sub("storage", text)
    return _PATH.sub("a server file", text)


def requester_reason(exc: BaseException) -> str:
    """The sentence shown to requesters for a failed attempt."""
    if isinstance(exc, TransientError):
        return exc.reason
    if isinstance(exc, ExhaustError):
        return scrub(exc.message)
    if is_transient(exc):  # a library's connection or timeout error
        return TransientError.reason
    return UNEXPECTED
