"""Recurring requests and the TPD feed over HTTP (the same as `exhaust schedule …` and `exhaust tpd …`).

`GET /schedule/v1/list`, `POST /schedule/v1/create`, `POST /schedule/v1/remove/{id}`,
`POST /schedule/v1/run/{id}`; `GET /tpd/v1/status`, `POST /tpd/v1/run`. Sunbird's envelope, bearer token
and `X-Channel-ID` as on the dataset request API. Schedules belong to the caller's channel and only org
admins and service consumers manage them; a schedule naming batches needs the same rights on them as a
request. The TPD feed is operated by org admins and services of its configured channel.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exhaust.api import contract as c
from exhaust.api.auth import NOT_AUTHORIZED, Principal
from exhaust.api.context import ApiContext, context_of, in_thread
from exhaust.api.dataset_requests import authenticate, authorize_selector, requester, require_channel
from exhaust.api.envelope import NOT_FOUND, SERVER_ERROR, ApiError, bad_request, forbidden, ok
from exhaust.api.validation import parse_json
from exhaust.errors import BadInput, ExhaustError, RemoteServiceError
from exhaust.jobs.datasets import parse_request_data
from exhaust.jobs.schedules import FROM_EMITTED, SPECIAL_KINDS, ScheduleStore
from exhaust.tpd import hooks  # registers the `tpd` schedule kind and the feed's periodic task

router = APIRouter(tags=["schedules and TPD"])
#: Every route: a bearer token and the caller's channel, as on the dataset request API.
_EXTRA: dict[str, Any] = {"parameters": [c.CHANNEL_HEADER], "security": c.SECURITY}
SCHEDULE_ID = "exhaust.schedule"
assert hooks is not None
TPD_ID = "exhaust.tpd"


def _admin(ctx: ApiContext, request: Request) -> tuple[Principal, str]:
    principal = authenticate(ctx, request)
    channel = require_channel(principal, request)
    if not (principal.is_org_admin or principal.is_service):
        raise forbidden(NOT_AUTHORIZED)
    return principal, channel


def _schedules(ctx: ApiContext) -> ScheduleStore:
    return ScheduleStore(ctx.store.engine, ctx.settings.job_table, ctx.settings.timezone)


def _create(ctx: ApiContext, request: Request, raw: bytes) -> dict:
    principal, channel = _admin(ctx, request)
    body = parse_json(request.headers.get("content-type"), raw)
    inner = body.get("request") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise bad_request('the body must be {"request": {"dataset": …, "cron": …, "datasetConfig": …}}')
    dataset, cron = inner.get("dataset"), inner.get("cron")
    config = inner.get("datasetConfig") or {}
    if not isinstance(dataset, str) or not isinstance(cron, str) or not isinstance(config, dict):
        raise bad_request("dataset and cron are text and datasetConfig an object")
    email = inner.get("email")
    if isinstance(email, str) and email.strip():
        config = {**config, "datasetConfig": {"email": email.strip()}}  # where the job mailer looks
    key = inner.get("encryptionKey")
    if key is not None and not isinstance(key, str):
        raise bad_request("encryptionKey must be text")
    if dataset in SPECIAL_KINDS and ctx.settings.tpd_channel and channel != ctx.settings.tpd_channel:
        raise forbidden(NOT_AUTHORIZED)  # the TPD feed is operated from its configured channel only
    if dataset not in SPECIAL_KINDS and FROM_EMITTED not in config:
        try:
            authorize_selector(ctx, principal, parse_request_data(config))
        except BadInput as error:
            raise bad_request(error.message) from None
    try:
        schedule = _schedules(ctx).add(
            dataset, config, cron=cron, channel=channel, requested_by=requester(principal, inner.get("requestedBy")),
            tag=inner.get("tag") if isinstance(inner.get("tag"), str) else None, encryption_key=key or None,
        )  # fmt: skip
    except BadInput as error:
        raise bad_request(error.message) from None
    return schedule.view(ctx.settings.timezone)


def _list(ctx: ApiContext, request: Request) -> dict:
    _, channel = _admin(ctx, request)
    found = [s.view(ctx.settings.timezone) for s in _schedules(ctx).list(channel)]
    return {"count": len(found), "schedules": found}


def _remove(ctx: ApiContext, request: Request, schedule_id: str) -> dict:
    _, channel = _admin(ctx, request)
    if not _schedules(ctx).remove(schedule_id, channel):
        raise ApiError(NOT_FOUND, "No schedule with this id in your channel.", status=404)
    return {"scheduleId": schedule_id, "removed": True}


def _run(ctx: ApiContext, request: Request, schedule_id: str) -> dict:
    from exhaust.jobs.scheduler import Scheduler

    _, channel = _admin(ctx, request)
    schedules = _schedules(ctx)
    schedule = schedules.get(schedule_id)
    if schedule is None or schedule.channel != channel:
        raise ApiError(NOT_FOUND, "No schedule with this id in your channel.", status=404)
    try:
        started = Scheduler(ctx.store, ctx.settings, owner="api").run_now(schedule)
    except ExhaustError as error:
        raise bad_request(error.message) from None
    schedules.record(schedule_id, request_id=started, error=None)
    return {"scheduleId": schedule_id, "started": started}


def _tpd_caller(ctx: ApiContext, request: Request) -> None:
    _, channel = _admin(ctx, request)
    if ctx.settings.tpd_channel and channel != ctx.settings.tpd_channel:
        raise forbidden(NOT_AUTHORIZED)


def _tpd(ctx: ApiContext, request: Request, action: str, limit: int) -> Any:
    from exhaust.tpd.hooks import _feed

    _tpd_caller(ctx, request)
    try:
        feed = _feed(ctx.settings)
        if action == "run":
            return feed.run_status(feed.start())
        return {"runs": feed.recent(max(1, min(limit, 50)))}
    except BadInput as error:
        raise bad_request(error.message) from None
    except RemoteServiceError as error:  # the dataset API is down or not configured
        raise ApiError(SERVER_ERROR, error.message, status=503) from None


@router.post(
    "/schedule/v1/create",
    summary="Add a recurring request",
    response_model=c.ScheduleEnvelope,
    responses=c.errors(400, 401, 403, 413, 415, 503),
    openapi_extra={**c.body_of(c.ScheduleBody), **_EXTRA},
)
async def create_schedule(request: Request) -> JSONResponse:
    raw = await request.body()
    ctx = context_of(request)
    return ok(SCHEDULE_ID, await in_thread(ctx, _create, ctx, request, raw))


@router.get(
    "/schedule/v1/list",
    summary="The caller's channel's schedules",
    response_model=c.ScheduleListEnvelope,
    responses=c.errors(401, 403, 503),
    openapi_extra=_EXTRA,
)
async def list_schedules(request: Request) -> JSONResponse:
    ctx = context_of(request)
    return ok(SCHEDULE_ID, await in_thread(ctx, _list, ctx, request))


@router.post(
    "/schedule/v1/remove/{schedule_id}",
    summary="Delete a schedule",
    response_model=c.ScheduleRemovedEnvelope,
    responses=c.errors(401, 403, 404, 503),
    openapi_extra=_EXTRA,
)
async def remove_schedule(request: Request, schedule_id: str) -> JSONResponse:
    ctx = context_of(request)
    return ok(SCHEDULE_ID, await in_thread(ctx, _remove, ctx, request, schedule_id))


@router.post(
    "/schedule/v1/run/{schedule_id}",
    summary="Run a schedule now",
    response_model=c.ScheduleStartedEnvelope,
    responses=c.errors(400, 401, 403, 404, 503),
    openapi_extra=_EXTRA,
)
async def run_schedule(request: Request, schedule_id: str) -> JSONResponse:
    ctx = context_of(request)
    return ok(SCHEDULE_ID, await in_thread(ctx, _run, ctx, request, schedule_id))


@router.get(
    "/tpd/v1/status",
    summary="The TPD feed's last runs: requests, files, counts, errors",
    response_model=c.TpdRunsEnvelope,
    responses=c.errors(400, 401, 403, 503),
    openapi_extra=_EXTRA,
)
async def tpd_status(request: Request, limit: int = 5) -> JSONResponse:
    ctx = context_of(request)
    return ok(TPD_ID, await in_thread(ctx, _tpd, ctx, request, "status", limit))


@router.post(
    "/tpd/v1/run",
    summary="Start today's TPD run (or return it); the workers advance it",
    response_model=c.TpdRunEnvelope,
    responses=c.errors(400, 401, 403, 503),
    openapi_extra=_EXTRA,
)
async def tpd_run(request: Request) -> JSONResponse:
    ctx = context_of(request)
    return ok(TPD_ID, await in_thread(ctx, _tpd, ctx, request, "run", 1))
