"""`GET /files/{requestId}/{n}`: the stable link mails carry; checks the caller, then signs a fresh URL.

A signed download link dies after `url_expiry_minutes`, so it cannot go in a mail that may be read days
later. This link never expires and is worth nothing alone: it needs the requester's bearer token (the
same rules as reading the request), and answers with a redirect to a freshly signed download.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from exhaust.api.auth import NOT_AUTHORIZED
from exhaust.api.context import context_of
from exhaust.api.contract import SECURITY, errors
from exhaust.api.dataset_requests import authenticate, visible
from exhaust.api.envelope import NOT_FOUND, ApiError, forbidden
from exhaust.jobs.store import FAILED, SUCCESS
from exhaust.jobs.text import text_problem

router = APIRouter(tags=["downloads"])
NO_FILE = "No such file: read the request for its current links."


@router.get(
    "/files/{request_id}/{index}",
    summary="A request's n-th file: a redirect to a freshly signed download (the link in mails)",
    status_code=307,
    response_class=RedirectResponse,
    responses={
        307: {"description": "Redirect to a freshly signed download URL (Location)."},
        **errors(400, 401, 403, 404, 503),
    },
    openapi_extra={"security": SECURITY},
)
def job_file(request: Request, request_id: str, index: int) -> RedirectResponse:
    """Redirect (307) to a fresh signed URL of the request's `index`-th file (1-based)."""
    ctx = context_of(request)
    principal = authenticate(ctx, request)
    if text_problem(request_id) or not request_id.isalnum():
        raise ApiError(NOT_FOUND, NO_FILE, status=404)
    job = ctx.store.get(request_id.upper())
    if job is None or job.requested_channel != principal.channel:
        raise ApiError(NOT_FOUND, NO_FILE, status=404)
    if not visible(ctx, principal, [job]):
        raise forbidden(NOT_AUTHORIZED)
    if job.status not in (SUCCESS, FAILED) or not 1 <= index <= len(job.download_urls):
        raise ApiError(NOT_FOUND, NO_FILE, status=404)
    signed = ctx.signer.sign(job.download_urls[index - 1])
    return RedirectResponse(signed.url, status_code=307, headers={"Cache-Control": "no-store"})
