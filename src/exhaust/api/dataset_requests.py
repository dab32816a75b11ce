"""Sunbird's dataset request API: submit, read, list, search (research §2), with authorisation added.

Each handler reads its input, then does its blocking work (database, source) in the thread pool.
Order of checks on submit: token (401), body (400: Sunbird's tag/dataset/datasetConfig checks), channel
and role (403), dataset, selector and key (400), batches exist (400), batches are the caller's (403).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exhaust.api.auth import (
    NOT_AUTHORIZED,
    Principal,
    bearer_token,
    channel_denial,
    may_act_on_batch,
    may_use_search_filter,
)
from exhaust.api.context import ApiContext, context_of, in_thread
from exhaust.api.contract import (
    CHANNEL_HEADER,
    SECURITY,
    JobEnvelope,
    JobListEnvelope,
    ReadEnvelope,
    SearchBody,
    SubmitBody,
    body_of,
    errors,
)
from exhaust.api.envelope import (
    LIST_ID,
    READ_ID,
    SEARCH_ID,
    SERVER_ERROR,
    SUBMIT_ID,
    UNAUTHORIZED,
    ApiError,
    bad_request,
    forbidden,
    ok,
    soft_failure,
)
from exhaust.api.middleware import log
from exhaust.api.validation import (
    LIST_LIMIT,
    check_dataset_request,
    check_path_text,
    parse_json,
    parse_limit,
    parse_search,
    parse_submit,
)
from exhaust.errors import BadInput, ExhaustError
from exhaust.jobs.batches import RETIRED
from exhaust.jobs.datasets import BatchSelector, parse_request_data
from exhaust.jobs.store import Job
from exhaust.jobs.views import job_response

READ_NOT_FOUND = "no job available with the given request_id and tag"
SOURCE_DOWN = "The platform data could not be read to check the batch; please try again shortly."

router = APIRouter(tags=["dataset requests"])


def source_down(error: ExhaustError) -> ApiError:
    """503 for the caller; the source's own message (paths, redacted URLs) for the operator."""
    log.warning("batch lookup failed: %s", error.message)
    return ApiError(SERVER_ERROR, SOURCE_DOWN, status=503, headers={"Retry-After": "5"})


# ---- shared steps ------------------------------------------------------------------------------
def authenticate(ctx: ApiContext, request: Request) -> Principal:
    """The caller of a request, or 401."""
    token = bearer_token(request.headers.get("authorization"))
    principal = ctx.tokens.authenticate(token) if token else None
    if principal is None:
        raise ApiError(
            UNAUTHORIZED,
            "A valid bearer token is required (Authorization: Bearer <token>).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require_channel(principal: Principal, request: Request) -> str:
    """The `X-Channel-ID` the caller acts for, or 403 with Sunbird's message."""
    channel = request.headers.get("x-channel-id", "").strip()
    denial = channel_denial(principal, channel)
    if denial is not None:
        raise forbidden(denial)
    return channel


def requester(principal: Principal, given: str | None) -> str:
    """`requestedBy`: the token's user (a different one in the body is refused); a service names its own."""
    if principal.is_service:
        return given or ""
    if given and given != principal.user_id:
        raise forbidden(NOT_AUTHORIZED)
    return principal.user_id or ""


def authorize_selector(ctx: ApiContext, principal: Principal, selector: BatchSelector) -> None:
    """400 when a named batch does not exist (or all are retired), 403 when one is not the caller's."""
    if selector.search is not None:
        if not may_use_search_filter(principal, selector.search):
            raise forbidden(NOT_AUTHORIZED)
        return
    try:
        facts = ctx.batches.lookup(selector.batch_ids)
    except ExhaustError as error:
        raise source_down(error) from error
    unknown = [b for b in selector.batch_ids if b not in facts]
    if unknown:
        raise bad_request(f"batch {', '.join(unknown)} not found")
    if not all(may_act_on_batch(principal, facts[b]) for b in selector.batch_ids):
        raise forbidden(NOT_AUTHORIZED)
    if all(facts[b].course_status == "Retired" for b in selector.batch_ids):
        raise bad_request(RETIRED)


def visible(ctx: ApiContext, principal: Principal, jobs: Sequence[Job]) -> list[Job]:
    """The jobs the caller may see: never another channel's; for a mentor, only jobs of their batches.

    Org admins and services see every request of their channel (each was checked when submitted). A
    mentor sees a request only when every batch it names is one `may_act_on_batch` allows them; a
    request by searchFilter, or one whose batches are gone from the source, is not shown to mentors.
    """
    own = [job for job in jobs if job.requested_channel == principal.channel]
    if principal.is_org_admin or principal.is_service:
        return own
    selectors: list[BatchSelector | None] = []
    for job in own:
        try:
            selectors.append(parse_request_data(job.request_data))
        except BadInput:
            selectors.append(None)
    wanted = sorted({b for s in selectors if s is not None for b in s.batch_ids})
    try:
        facts = ctx.batches.lookup(wanted) if wanted else {}
    except ExhaustError as error:
        raise source_down(error) from error
    return [
        job
        for job, selector in zip(own, selectors, strict=True)
        if selector is not None
        and selector.search is None
        and selector.batch_ids
        and all(b in facts and may_act_on_batch(principal, facts[b]) for b in selector.batch_ids)
    ]


# ---- the endpoints -----------------------------------------------------------------------------
def _submit(ctx: ApiContext, request: Request, raw: bytes) -> dict:
    principal = authenticate(ctx, request)
    submit = parse_submit(parse_json(request.headers.get("content-type"), raw))
    channel = require_channel(principal, request)
    requested_by = requester(principal, submit.requested_by)
    selector = check_dataset_request(submit)
    request.state.dataset = submit.dataset
    authorize_selector(ctx, principal, selector)
    try:
        job, _ = ctx.store.submit(
            submit.dataset,
            submit.config,
            tag=submit.tag,
            channel=channel,
            requested_by=requested_by,
            encryption_key=submit.encryption_key,
        )
    except BadInput as error:
        raise bad_request(error.message) from None
    return job_response(job, ctx.signer)


@router.post(
    "/request/submit",
    summary="Request a report (Sunbird: ekstep.analytics.dataset.request.submit)",
    response_model=JobEnvelope,
    responses=errors(400, 401, 403, 413, 415, 503),
    openapi_extra={**body_of(SubmitBody), "parameters": [CHANNEL_HEADER], "security": SECURITY},
)
async def submit_request(request: Request) -> JSONResponse:
    """Queue a report request, or return today's identical one (a FAILED one is queued again)."""
    raw = await request.body()  # at most api_max_body_bytes (the middleware stops longer ones)
    ctx = context_of(request)
    return ok(SUBMIT_ID, await in_thread(ctx, _submit, ctx, request, raw))


def _read(ctx: ApiContext, request: Request, tag: str, request_id: str) -> JSONResponse:
    principal = authenticate(ctx, request)
    channel = require_channel(principal, request)
    check_path_text(tag, request_id)
    job = ctx.store.get(request_id.strip().upper(), f"{tag}:{channel}") if request_id.strip() else None
    if job is None:
        return soft_failure(READ_ID, READ_NOT_FOUND)
    request.state.dataset = job.job_id
    if not visible(ctx, principal, [job]):
        raise forbidden(NOT_AUTHORIZED)
    return ok(READ_ID, job_response(job, ctx.signer))


@router.get(
    "/request/read/{tag}",
    summary="Read one request (Sunbird: ekstep.analytics.dataset.request.info)",
    response_model=ReadEnvelope,
    responses=errors(400, 401, 403, 503),
    openapi_extra={"parameters": [CHANNEL_HEADER], "security": SECURITY},
)
async def read_request(request: Request, tag: str, requestId: str = "") -> JSONResponse:
    """One request of the caller's channel with fresh download links (not found: 200 with status failed)."""
    ctx = context_of(request)
    return await in_thread(ctx, _read, ctx, request, tag, requestId)


def _list(ctx: ApiContext, request: Request, tag: str, limit: str | None) -> dict:
    principal = authenticate(ctx, request)
    channel = require_channel(principal, request)
    check_path_text(tag)
    size = parse_limit(limit, LIST_LIMIT)
    jobs = visible(ctx, principal, ctx.store.list(tag, channel=channel, limit=size))
    return {"count": len(jobs), "jobs": [job_response(job, ctx.signer) for job in jobs]}


@router.get(
    "/request/list/{tag}",
    summary="List a tag's requests (Sunbird: ekstep.analytics.dataset.request.list)",
    response_model=JobListEnvelope,
    responses=errors(400, 401, 403, 503),
    openapi_extra={"parameters": [CHANNEL_HEADER], "security": SECURITY},
)
async def list_requests(request: Request, tag: str, limit: str | None = None) -> JSONResponse:
    """The caller's channel's requests for a tag, newest first (`limit`, default 100)."""
    ctx = context_of(request)
    return ok(LIST_ID, await in_thread(ctx, _list, ctx, request, tag, limit))


def _search(ctx: ApiContext, request: Request, raw: bytes) -> dict:
    principal = authenticate(ctx, request)
    search = parse_search(parse_json(request.headers.get("content-type"), raw))
    header = request.headers.get("x-channel-id", "").strip()
    if header:
        require_channel(principal, request)
    if not (principal.is_org_admin or principal.is_service):
        raise forbidden(NOT_AUTHORIZED)
    if search.channel is not None and search.channel != principal.channel:
        raise forbidden(NOT_AUTHORIZED)
    total, jobs = ctx.store.search(
        dataset=search.dataset,
        channel=principal.channel,
        status=search.status,
        requested_date=search.requested_date,
        limit=search.limit,
    )
    return {"count": total, "jobs": [job_response(job, ctx.signer) for job in jobs]}


@router.post(
    "/request/search",
    summary="Search requests (Sunbird: ekstep.analytics.dataset.request.search)",
    response_model=JobListEnvelope,
    responses=errors(400, 401, 403, 413, 415, 503),
    openapi_extra={**body_of(SearchBody), "security": SECURITY},
)
async def search_requests(request: Request) -> JSONResponse:
    """Requests of the caller's channel by dataset, status and day; org admins and services only."""
    raw = await request.body()
    ctx = context_of(request)
    return ok(SEARCH_ID, await in_thread(ctx, _search, ctx, request, raw))
