"""The outer layer of every HTTP exchange: body size limit, `Request-Time`, metrics, access log, no stray 500s.

It is plain ASGI so it sees the body as it streams: a body larger than `api_max_body_bytes` is refused
with 413 whether or not it announced its length. Anything a route did not handle becomes Sunbird's 500
envelope, and the log line names only the error's type and where it happened: a database error's text
can quote the statement's parameters, and one of them may be an encryption key.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from exhaust.api.envelope import CLIENT_ERROR, SERVER_ERROR, api_id_for, body
from exhaust.api.metrics import ApiMetrics, endpoint_of
from exhaust.errors import is_transient

#: Seconds a client is asked to wait when the job store (or another backing service) is down.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The service is briefly unavailable (its database cannot be reached); please retry shortly."

log = logging.getLogger("exhaust.api")
access = logging.getLogger("exhaust.api.access")

Scope = dict[str, Any]


class BodyTooLarge(Exception):
    """The request body passed the size limit while streaming in."""


def describe(exc: BaseException) -> str:
    """A log-safe description: the type, and the message only where it cannot quote request values."""
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        first = str(orig).splitlines()[0] if orig is not None and str(orig) else ""
        return f"{type(exc).__name__} ({type(orig).__name__ if orig is not None else 'database'}: {first})"
    return f"{type(exc).__name__}: {exc}"


class ApiMiddleware:
    """Wraps the FastAPI app (added with `app.add_middleware`)."""

    def __init__(self, app: Any, *, max_body: int, metrics: ApiMetrics) -> None:
        self.app = app
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope.get("path", "")
        state = {"status": 500, "sent": False, "received": 0}

        async def send_timed(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["sent"] = message["status"], True
                elapsed = f"{(time.perf_counter() - started) * 1000:.0f}"
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"request-time", elapsed.encode())],
                }
            await send(message)

        async def receive_limited() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_body:
                    raise BodyTooLarge()
            return message

        try:
            declared = self._declared_length(scope)
            if declared == -1:
                await self._answer(send_timed, path, 400, CLIENT_ERROR, "Content-Length is not a number")
            elif declared is not None and declared > self.max_body:
                await self._answer(send_timed, path, 413, CLIENT_ERROR, self._too_large())
            else:
                await self.app(scope, receive_limited, send_timed)
        except BodyTooLarge:
            if not state["sent"]:
                await self._answer(send_timed, path, 413, CLIENT_ERROR, self._too_large())
        except Exception as exc:
            if is_transient(exc):  # the job store is down: a fault of ours that passes, not a bug
                log.warning("%s %s: backing service unavailable: %s", scope.get("method", ""), path,
                            describe(exc))  # fmt: skip
                if not state["sent"]:
                    await self._answer(
                        send_timed, path, 503, SERVER_ERROR, UNAVAILABLE,
                        headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
                    )  # fmt: skip
                return
            self._unexpected(scope, exc)
            if not state["sent"]:
                message = "The request could not be completed because of an internal error; please try again."
                await self._answer(send_timed, path, 500, SERVER_ERROR, message)
        finally:
            seconds = time.perf_counter() - started
            dataset = str(scope.get("state", {}).get("dataset", ""))
            self.metrics.observe(endpoint_of(path), dataset, int(state["status"]), seconds)
            access.info(
                '%s "%s %s" %s %.1fms',
                _client(scope),
                scope.get("method", ""),
                path,
                state["status"],
                seconds * 1000,
            )

    def _too_large(self) -> str:
        return f"request body is larger than the limit of {self.max_body} bytes"

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        """The Content-Length header (None when absent, -1 when not a number)."""
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                return int(value) if value.strip().isdigit() else -1
        return None

    @staticmethod
    async def _answer(
        send: Any, path: str, status: int, code: str, message: str, headers: list | None = None
    ) -> None:
        payload = json.dumps(body(api_id_for(path), None, code=code, errmsg=message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                    *(headers or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    def _unexpected(scope: Scope, exc: BaseException) -> None:
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "unexpected %s while answering %s %s\n%s",
            describe(exc),
            scope.get("method", ""),
            scope.get("path", ""),
            frames.rstrip(),
        )


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"
