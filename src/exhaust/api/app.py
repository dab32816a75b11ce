"""The HTTP app: Sunbird's dataset request API (three path prefixes), downloads, health, metrics, docs.

The request routes answer at `/dataset/v1/request/...` (Kong's public path), `/api/dataset/v1/request/...`
(the same behind Sunbird's nginx `/api` prefix) and `/request/...` (the analytics service's own paths,
which internal callers of `/request/search` use). Every error is Sunbird's JSON envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from exhaust.api import contract, dataset_requests, downloads, files, ops
from exhaust.api.context import open_context
from exhaust.api.envelope import CLIENT_ERROR, NOT_FOUND, ApiError, api_id_for, error
from exhaust.api.middleware import ApiMiddleware
from exhaust.settings import Settings, get_settings

PREFIXES = ("/dataset/v1", "/api/dataset/v1", "")

DESCRIPTION = """\
Sunbird-compatible on-demand data exhaust API. Send `Authorization: Bearer <token>` (from
`exhaust token create`) and `X-Channel-ID: <your channel>` with every dataset request call.
Paths also answer under `/api/dataset/v1/...` and the analytics service's `/request/...`.
"""


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error(api_id_for(request.url.path), exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        err = ApiError(NOT_FOUND, "No such endpoint.", status=404)
    elif exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        err = ApiError(
            CLIENT_ERROR, f"{request.method} is not allowed on this endpoint.", status=405,
            headers={"Allow": allow} if allow else None,
        )  # fmt: skip
    else:
        err = ApiError(CLIENT_ERROR, str(exc.detail), status=exc.status_code)
    return error(api_id_for(request.url.path), err)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body"))
    message = f"{where}: {first.get('msg', 'invalid value')}" if where else "invalid request"
    return error(api_id_for(request.url.path), ApiError(CLIENT_ERROR, message))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app over the configured job store, storage, signer, source and token table."""
    settings = settings or get_settings()
    context = open_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Blocking work runs in this many threads: no more than the database pool holds, so a burst
        # waits for a pooled connection instead of opening (and then closing) extra ones. The dataset
        # request routes use the context's executor of that size; the other sync routes (health,
        # metrics, downloads) anyio's threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="exhaust",
        summary="Course report (exhaust) requests, Sunbird-compatible",
        description=DESCRIPTION,
        version="1.0",
        docs_url=None,  # served by `contract.install` from packaged Swagger UI assets (works offline)
        redoc_url=None,
    )
    app.state.context = context
    for prefix in PREFIXES:
        app.include_router(dataset_requests.router, prefix=prefix, include_in_schema=prefix == PREFIXES[0])
    app.include_router(downloads.router)
    app.include_router(files.router)
    app.include_router(ops.router)
    contract.install(app)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(ApiMiddleware, max_body=settings.api_max_body_bytes, metrics=context.metrics)
    return app
