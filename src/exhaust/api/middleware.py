"""The outer layers of every HTTP exchange, one concern each, composed here (outermost first):

1. `ExchangeLog` (`api/exchange_log.py`): the `Request-Time` header, metrics and the access log;
2. `ErrorAnswers` (`api/error_answers.py`): nothing a route did not handle escapes as a stray 500 — a
   backing service that is down is a 503 with `Retry-After`, anything else Sunbird's 500 envelope;
3. `BodyLimit` (`api/body_limit.py`): a body larger than `api_max_body_bytes` is refused with 413
   whether or not it announced its length.

They are plain ASGI so that they see the body as it streams. Log lines name only an error's type and
where it happened (`describe`): a database error's text can quote the statement's parameters, and one of
them may be an encryption key.
"""

from __future__ import annotations

from typing import Any

from exhaust.api.body_limit import BodyLimit
from exhaust.api.error_answers import RETRY_AFTER_SECONDS, UNAVAILABLE, ErrorAnswers, describe, log
from exhaust.api.exchange_log import ExchangeLog, access
from exhaust.api.metrics import ApiMetrics

__all__ = ["RETRY_AFTER_SECONDS", "UNAVAILABLE", "ApiMiddleware", "access", "describe", "log"]


class ApiMiddleware:
    """The three layers around the FastAPI app (added with `app.add_middleware`)."""

    def __init__(
        self, app: Any, *, max_body: int, metrics: ApiMetrics, body_limits: dict[str, int] | None = None
    ) -> None:
        limited = BodyLimit(app, max_body=max_body, body_limits=body_limits)
        self.app = ExchangeLog(ErrorAnswers(limited), metrics=metrics)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
