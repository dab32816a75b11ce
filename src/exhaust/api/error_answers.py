"""Nothing a route did not handle reaches a client as a stray error: a backing service that is down is a
503 with `Retry-After` (a fault that passes), anything else Sunbird's 500 envelope and one log line."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from exhaust.api.envelope import SERVER_ERROR, send_envelope
from exhaust.errors import is_transient

log = logging.getLogger("exhaust.api")

#: Seconds a client is asked to wait when the job store (or another backing service) is down.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The service is briefly unavailable (its database cannot be reached); please retry shortly."
INTERNAL = "The request could not be completed because of an internal error; please try again."


def describe(exc: BaseException) -> str:
    """A log-safe description: the type, and the message only where it cannot quote request values."""
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        first = str(orig).splitlines()[0] if orig is not None and str(orig) else ""
        return f"{type(exc).__name__} ({type(orig).__name__ if orig is not None else 'database'}: {first})"
    return f"{type(exc).__name__}: {exc}"


class ErrorAnswers:
    """ASGI layer: turns an exception escaping the app into a 503 or 500 answer (when none has started)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        except Exception as exc:
            path = scope.get("path", "")
            if is_transient(exc):  # the job store is down: a fault of ours that passes, not a bug
                log.warning(
                    "%s %s: backing service unavailable: %s", scope.get("method", ""), path, describe(exc)
                )
                if not started:
                    retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
                    await send_envelope(send, path, 503, SERVER_ERROR, UNAVAILABLE, headers=retry)
                return
            _log_unexpected(scope, exc)
            if not started:
                await send_envelope(send, path, 500, SERVER_ERROR, INTERNAL)


def _log_unexpected(scope: dict[str, Any], exc: BaseException) -> None:
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unexpected %s while answering %s %s\n%s", describe(exc), scope.get("method", ""),
              scope.get("path", ""), frames.rstrip())  # fmt: skip
