"""The dashboard's part of the OpenAPI contract: telemetry, the download ratio and a batch's figures.

`POST /v1/telemetry` and `GET /v1/download-ratio` answer with Sunbird's telemetry API envelope
(`responseCode` SUCCESS, `params.msgid` echoed); the app's own layers answer a body over the limit (413)
and a backing-service fault (503) with the dataset API's envelope, which the same model describes. A
batch's `summary.json` is the page's data, behind the dashboard's session cookie. The other pages are
HTML for a browser and stay out of the document (docs/api.md).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from exhaust.dashboard.session import CSRF_HEADER, SESSION_COOKIE
from exhaust.dashboard.telemetry import EID, MAX_EVENTS, MIN_ETS

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The dashboard's session (sign in at /dashboard/sign-in with a user token).",
    },
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "The session's CSRF token (the page's script sends it with the session cookie).",
    },
}
assert CSRF_HEADER == "x-csrf-token"
#: Telemetry: a bearer token, or the session with its CSRF token. The ratio and figures: as named.
TELEMETRY_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": [], "csrfToken": []}]
RATIO_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
SESSION_SECURITY: list[dict[str, list[str]]] = [{"sessionCookie": []}]

Text = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]


class _Open(BaseModel):
    """Sunbird's events carry many more fields: the server keeps them as sent, but the document names only
    those it checks (so generated examples stay free of NUL characters, which are refused anywhere)."""

    model_config = ConfigDict(extra="forbid")


class Actor(_Open):
    id: Text
    type: Text


class Pdata(_Open):
    id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


class Cdata(_Open):
    id: Text
    type: Text


class Context(_Open):
    channel: Text
    pdata: Pdata
    env: Text
    cdata: list[Cdata] | SkipJsonSchema[None] = None


class Edata(_Open):
    type: Text = Field(description="Required for INTERACT events (CLICK, …).")
    id: Text = Field(description="Required for INTERACT events (download-file counts a click).")


class EventObject(_Open):
    id: Text
    type: Text


def _ets_limit() -> int:
    """Event times up to now (the server takes up to a day ahead of its clock)."""
    return int(time.time() * 1000)


class Event(_Open):
    """A telemetry v3 event (the fields this service checks; others are kept as sent)."""

    eid: Annotated[str, Field(pattern=EID.pattern, examples=["INTERACT"])]
    ets: Annotated[
        int, Field(ge=MIN_ETS, json_schema_extra=lambda schema: schema.update(maximum=_ets_limit()))
    ] = Field(description="Event time, epoch milliseconds (from 2000 to a day ahead of the server's clock).")
    ver: Annotated[str, Field(pattern=r"^3\.[0-9]{1,7}$", examples=["3.0"])]
    mid: Text = Field(description="Message id: an event whose mid is stored already counts as a duplicate.")
    actor: Actor
    context: Context
    edata: Edata
    object: EventObject | SkipJsonSchema[None] = None


class TelemetryParams(_Open):
    msgid: Text | SkipJsonSchema[None] = None


class TelemetryBody(_Open):
    """Sunbird's telemetry API request; `id`, `ver` and `params` are accepted and not checked."""

    id: Text | SkipJsonSchema[None] = Field(None, examples=["api.sunbird.telemetry"])
    ver: Text | SkipJsonSchema[None] = Field(None, examples=["3.0"])
    params: TelemetryParams | SkipJsonSchema[None] = None
    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)


class AnswerParams(BaseModel):
    resmsgid: str
    msgid: str | None = None
    status: Literal["successful", "failed"]
    err: str | None = None
    errmsg: str | None = Field(None, description="One plain sentence (errors only).")
    client_key: None = None


class _Answer(BaseModel):
    id: str
    ver: str
    ts: str
    params: AnswerParams
    responseCode: Literal["SUCCESS", "CLIENT_ERROR", "UNAUTHORIZED", "FORBIDDEN", "SERVER_ERROR"]


class Stored(BaseModel):
    received: int
    stored: int
    duplicates: int


class TelemetryAnswer(_Answer):
    result: Stored | None


class Figure(BaseModel):
    id: str | None
    name: str | None
    downloads: int
    clicks: int
    batches: int
    ratio: float | None


class DayRatio(BaseModel):
    date: str
    downloads: int
    clicks: int
    ratio: float | None


class Ratio(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    channel: str
    from_: str = Field(alias="from")
    to: str
    overall: Figure
    tenants: list[Figure]
    courses: list[Figure]
    days: list[DayRatio]


class RatioAnswer(_Answer):
    result: Ratio | None


class AreaFigure(BaseModel):
    name: str | None
    enrolled: int
    completed: int


class BatchFigures(BaseModel):
    batchId: str
    courseId: str | None
    enrolled: int
    completed: int
    completionPercent: float | None
    certificates: int | None
    distribution: dict[str, int]
    districts: list[AreaFigure]
    blocks: list[AreaFigure]


class NotAvailable(BaseModel):
    error: str


ERRORS = {
    400: "The body or the parameters are not usable (one plain sentence naming the field).",
    401: "No valid bearer token (or dashboard session with its CSRF token).",
    403: "This token may not send these events or see this channel's figures.",
    413: "The body is larger than EXHAUST_TELEMETRY_MAX_BODY_BYTES.",
    415: "The body is not JSON (Content-Type).",
    503: "The event store or the platform data cannot be reached right now.",
}


def errors(model: type[BaseModel], *codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": model, "description": ERRORS[code]} for code in codes}
