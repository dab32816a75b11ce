"""Operations endpoints: `/healthz` for load balancers, `/metrics` for Prometheus."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

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


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    return Response(context_of(request).metrics.render(), media_type=CONTENT_TYPE)
