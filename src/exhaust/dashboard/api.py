"""JSON endpoints: `POST /v1/telemetry` (Sunbird's telemetry API) and `GET /v1/download-ratio`.

Who may send telemetry: a bearer token of this service, or the dashboard's session with its CSRF token
in `X-CSRF-Token` (what the page's script sends). A user's token may only send events of its own
channel, so no tenant can inflate another's figures; a SERVICE token (a telemetry forwarder for Sunbird
clients) may send any channel's.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from exhaust.api.auth import Principal, bearer_token
from exhaust.api.context import in_thread
from exhaust.api.contract import body_of
from exhaust.api.envelope import ApiError, timestamp
from exhaust.api.validation import parse_json
from exhaust.dashboard import contract as c
from exhaust.dashboard.ratio import date_range, ratio_csv
from exhaust.dashboard.service import Dashboard
from exhaust.dashboard.session import CSRF_HEADER, SESSION_COOKIE, same_token
from exhaust.dashboard.telemetry import API_ID, parse_batch
from exhaust.errors import BadInput, ExhaustError

RATIO_ID = "exhaust.download.ratio"
_DAY = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
RATIO_PARAMETERS = [
    {"name": "from", "in": "query", "required": False, "schema": _DAY,
     "description": "First day, yyyy-MM-dd (default: 29 days before `to`)."},
    {"name": "to", "in": "query", "required": False, "schema": _DAY,
     "description": "Last day, yyyy-MM-dd (default: today); at most 366 days after `from`."},
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["csv", "json"]},
     "description": "csv for a CSV file; JSON otherwise."},
]  # fmt: skip
router = APIRouter(tags=["telemetry"])


def envelope(
    api_id: str, result: Any, *, status: int = 200, error: str | None = None, msgid: Any = None
) -> JSONResponse:
    """Sunbird's telemetry API answer: `responseCode` SUCCESS, or CLIENT_ERROR / SERVER_ERROR with `errmsg`."""
    code = "SUCCESS" if error is None else ("CLIENT_ERROR" if status < 500 else "SERVER_ERROR")
    if status in (401, 403):
        code = "UNAUTHORIZED" if status == 401 else "FORBIDDEN"
    return JSONResponse(
        {
            "id": api_id,
            "ver": "1.0",
            "ts": timestamp(),
            "params": {
                "resmsgid": str(uuid.uuid4()),
                "msgid": msgid if isinstance(msgid, str) else None,
                "status": "successful" if error is None else "failed",
                "err": None if error is None else code,
                "errmsg": error,
            },
            "responseCode": code,
            "result": result,
        },
        status_code=status,
    )


def caller(dash: Dashboard, request: Request) -> Principal | None:
    """A bearer token's principal, or the session's when the CSRF header matches it."""
    token = bearer_token(request.headers.get("authorization"))
    if token:
        return dash.api.tokens.authenticate(token)
    session = dash.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is not None and same_token(session.csrf, request.headers.get(CSRF_HEADER)):
        return session.principal
    return None


def _store(dash: Dashboard, request: Request, raw: bytes) -> JSONResponse:
    principal = caller(dash, request)
    if principal is None:
        return envelope(
            API_ID, None, status=401, error="A valid bearer token (or dashboard session) is required."
        )
    try:
        data = parse_json(request.headers.get("content-type"), raw)
    except ApiError as error:
        return envelope(API_ID, None, status=error.status, error=error.message)
    msgid = (
        data.get("params", {}).get("msgid")
        if isinstance(data, dict) and isinstance(data.get("params"), dict)
        else None
    )
    try:
        rows = parse_batch(data, int(time.time() * 1000))
    except BadInput as error:
        return envelope(API_ID, None, status=400, error=error.message, msgid=msgid)
    if not principal.is_service:
        foreign = next((r for r in rows if r.channel != principal.channel), None)
        if foreign is not None:
            return envelope(
                API_ID,
                None,
                status=403,
                error="events of another channel cannot be sent with this token",
                msgid=msgid,
            )
    stored = dash.store.store_events(rows)
    received = len(data["events"])
    return envelope(
        API_ID, {"received": received, "stored": stored, "duplicates": received - stored}, msgid=msgid
    )


@router.post(
    "/v1/telemetry",
    summary="Send Sunbird telemetry v3 events (deduplicated by mid)",
    response_model=c.TelemetryAnswer,
    responses=c.errors(c.TelemetryAnswer, 400, 401, 403, 413, 415, 503),
    openapi_extra={**body_of(c.TelemetryBody), "security": c.TELEMETRY_SECURITY},
)
async def telemetry(request: Request) -> Response:
    """Validate and store a batch of events; a `mid` already stored is counted as a duplicate, not stored again."""
    raw = await request.body()
    dash: Dashboard = request.app.state.dashboard
    return await in_thread(dash.api, _store, dash, request, raw)


def _ratio(dash: Dashboard, request: Request) -> Response:
    principal = caller(dash, request)
    if principal is None:
        return envelope(RATIO_ID, None, status=401, error="A valid bearer token is required.")
    if not (principal.is_org_admin or principal.is_service):
        return envelope(
            RATIO_ID, None, status=403, error="The download ratio is for org admins and services."
        )
    try:
        start, end = date_range(request.query_params.get("from"), request.query_params.get("to"))
    except BadInput as error:
        return envelope(RATIO_ID, None, status=400, error=error.message)
    try:
        ratio = dash.ratio.compute(start, end, principal.channel)
    except ExhaustError:
        return envelope(
            RATIO_ID, None, status=503, error="The platform data could not be read; try again shortly."
        )
    if request.query_params.get("format") == "csv":
        return Response("".join(ratio_csv(ratio)), media_type="text/csv; charset=utf-8")
    return envelope(RATIO_ID, {"channel": principal.channel, **ratio.as_json()})


@router.get(
    "/v1/download-ratio",
    summary="Download ratio per batch (downloads / batches) for a date range",
    response_model=c.RatioAnswer,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The figures."},
        **c.errors(c.RatioAnswer, 400, 401, 403, 503),
    },
    openapi_extra={"security": c.RATIO_SECURITY, "parameters": RATIO_PARAMETERS},
)
async def download_ratio(request: Request) -> Response:
    """Per course, per tenant and overall for the caller's channel; `from`/`to` as yyyy-MM-dd, `format=csv`."""
    dash: Dashboard = request.app.state.dashboard
    return await in_thread(dash.api, _ratio, dash, request)
