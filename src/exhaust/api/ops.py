"""Operations endpoints: `/healthz` for load balancers, `/metrics` for Prometheus."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from exhaust.api.auth import bearer_token
from exhaust.api.context import context_of
from exhaust.api.metrics import CONTENT_TYPE
from exhaust.api.middleware import describe, log

router = APIRouter(tags=["operations"])


_HEALTH = {"type": "object", "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
           "required": ["status", "database"]}  # fmt: skip
_PLAIN_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


@router.get(
    "/healthz",
    summary="Liveness and database check",
    responses={
        200: {"description": "The job database answers.", "content": {"application/json": {"schema": _HEALTH}}},
        503: {"description": "The job database does not answer.",
              "content": {"application/json": {"schema": _HEALTH}}},
    },
)  # fmt: skip
def healthz(request: Request) -> JSONResponse:
    """200 when the job database answers, 503 otherwise."""
    try:
        with context_of(request).store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("health check failed: %s", describe(exc))
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus metrics (a SERVICE token, unless EXHAUST_METRICS_PUBLIC)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {
            "description": "No valid bearer token.",
            "content": {"application/json": {"schema": _PLAIN_ERROR}},
        },
        403: {
            "description": "Not a SERVICE token.",
            "content": {"application/json": {"schema": _PLAIN_ERROR}},
        },
    },
    openapi_extra={"security": [{"bearerAuth": []}]},
)
def metrics(request: Request) -> Response:
    """Request, job and queue figures for Prometheus; scrape with a SERVICE bearer token."""
    ctx = context_of(request)
    if not ctx.settings.metrics_public:
        token = bearer_token(request.headers.get("authorization"))
        principal = ctx.tokens.authenticate(token) if token else None
        if principal is None:
            return JSONResponse(
                {"error": "A valid bearer token is required (Authorization: Bearer <token>)."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.is_service:
            return JSONResponse({"error": "Metrics are for SERVICE tokens."}, status_code=403)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)
