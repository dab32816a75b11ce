"""Request bodies larger than the limit are refused with 413, whether or not they announced a length."""

from __future__ import annotations

from typing import Any

from exhaust.api.envelope import CLIENT_ERROR, send_envelope


class BodyTooLarge(Exception):
    """The request body passed the size limit while streaming in."""


class BodyLimit:
    """ASGI layer: 400 for a Content-Length that is not a number, 413 above `max_body` bytes (announced
    or counted as the body streams in, as long as no answer has started). `body_limits` gives paths a
    limit of their own (emission file uploads, telemetry batches of 10,000 events)."""

    def __init__(self, app: Any, *, max_body: int, body_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.body_limits = body_limits or {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.body_limits.get(path, self.max_body)
        declared = declared_length(scope)
        if declared == -1:
            await send_envelope(send, path, 400, CLIENT_ERROR, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await send_envelope(send, path, 413, CLIENT_ERROR, self.too_large(limit))
            return
        received, started = 0, False

        async def receive_limited() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def send_watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_limited, send_watched)
        except BodyTooLarge:
            if not started:
                await send_envelope(send, path, 413, CLIENT_ERROR, self.too_large(limit))

    @staticmethod
    def too_large(limit: int) -> str:
        return f"request body is larger than the limit of {limit} bytes"


def declared_length(scope: dict[str, Any]) -> int | None:
    """The Content-Length header (None when absent, -1 when not a number)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else -1
    return None
