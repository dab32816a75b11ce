"""Every HTTP exchange is timed (`Request-Time` header), counted in the metrics and written to the access
log, which names the client, method, path (never the query: it may hold a download signature) and status."""

from __future__ import annotations

import logging
import time
from typing import Any

from exhaust.api.metrics import ApiMetrics, endpoint_of

access = logging.getLogger("exhaust.api.access")


class ExchangeLog:
    """ASGI layer: the outermost, so that it sees the status of every answer, including the refusals."""

    def __init__(self, app: Any, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if nothing answered

        async def send_timed(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = f"{(time.perf_counter() - started) * 1000:.0f}"
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"request-time", elapsed.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            seconds = time.perf_counter() - started
            path = scope.get("path", "")
            dataset = str(scope.get("state", {}).get("dataset", ""))
            self.metrics.observe(endpoint_of(path), dataset, int(status), seconds)
            access.info(
                '%s "%s %s" %s %.1fms', _client(scope), scope.get("method", ""), path, status, seconds * 1000
            )


def _client(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"
