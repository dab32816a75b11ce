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


@router.get("/healthz", summary="Liveness and database check")
def healthz(request: Request) -> JSONResponse:
    """200 when the job database answers, 503 otherwise."""
    try:
        with context_of(request).store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("health check failed: %s", describe(exc))
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", summary="Prometheus metrics (a SERVICE token, unless EXHAUST_METRICS_PUBLIC)")
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
