"""The machine-readable API contract: request and response models, declared errors, security, docs offline.

The handlers keep reading bodies themselves (Sunbird's messages and the order of its checks: token,
body, channel, dataset), so these pydantic models describe the contract rather than parse it: the
OpenAPI document says exactly which bodies are well formed, which envelope every answer has, and which
errors each endpoint really returns. A well-formed request may still be refused for what it names (a
batch that does not exist, a retired collection): those are the 400s the document describes as such.
CI checks the document against the running server with schemathesis (`tests/api/test_contract.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from exhaust.emission import contract as emission
from exhaust.jobs.schedules import EMITTED_SOURCES
from exhaust.reports import registry

# ---- request bodies ------------------------------------------------------------------------------
#: The dataset names, from the dataset registry: those holding personal data need an encryption key.
PersonalDataset = Literal[tuple(n for n in registry.NAMES if n in registry.PERSONAL)]  # type: ignore[misc,valid-type]
OtherDataset = Literal[tuple(n for n in registry.NAMES if n not in registry.PERSONAL)]  # type: ignore[misc,valid-type]
#: What a batch id, a profile name and a tag may be (jobs/datasets.py and jobs/text.py check the same).
BatchId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$", examples=["013307481768378368112"])
]
Tag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=49,
        pattern=r"^[^/\x00-\x1f\x7f-\x9f]*[^/\s\x00-\x1f\x7f-\x9f][^/\x00-\x1f\x7f-\x9f]*$",
        description="Client tag (no '/', no control characters, not only spaces).",
        examples=["do_2133074736487792641239_013307481768378368112"],
    ),
]
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]
SearchValue = Annotated[str, Field(min_length=1, pattern=r"^[^\x00]+$")]
SearchValues = Annotated[list[SearchValue], Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchFilter(Strict):
    """Collection filters (at least one): a text value or a non-empty list of them per field."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    identifier: SearchValue | SearchValues | SkipJsonSchema[None] = None
    channel: SearchValue | SearchValues | SkipJsonSchema[None] = None
    status: SearchValue | SearchValues | SkipJsonSchema[None] = None
    name: SearchValue | SearchValues | SkipJsonSchema[None] = None


class _ConfigCommon(Strict):
    profile: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$")] | None = Field(
        None, description="Column profile (default: the dataset's own)."
    )
    email: Annotated[str, Field(max_length=200, pattern=r"^[^\x00@\s]+@[^\x00@\s]+$")] | None = Field(
        None, description="Mail the outcome here instead of the requester's address."
    )
    type: Annotated[str, Field(max_length=50, pattern=r"^[^\x00]*$")] | None = Field(
        None, description="Sunbird's dataset type (part of the request id when given)."
    )


class ByBatchId(_ConfigCommon):
    batchId: BatchId


class ByBatchFilter(_ConfigCommon):
    batchFilter: list[BatchId] = Field(min_length=1, max_length=20, json_schema_extra={"uniqueItems": True})


class BySearchFilter(_ConfigCommon):
    searchFilter: SearchFilter


DatasetConfig = ByBatchId | ByBatchFilter | BySearchFilter
Key = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]


class _SubmitCommon(Strict):
    tag: Tag
    requestedBy: Annotated[str, Field(max_length=50, pattern=r"^[^\x00]*$")] | None = Field(
        None, description="The requesting user (a user token's own id; a service names one)."
    )
    datasetConfig: DatasetConfig = Field(
        description="Exactly one of batchId, batchFilter (≤ 20) or searchFilter."
    )
    output_format: Text | None = Field(None, description="Accepted and ignored, as in Sunbird.")


class PersonalDataRequest(_SubmitCommon):
    """User details: the file is a zip protected with `encryptionKey` (required)."""

    dataset: PersonalDataset  # type: ignore[valid-type]
    encryptionKey: Key = Field(description="Zip password (required for personal data).")


class ReportRequest(_SubmitCommon):
    dataset: OtherDataset  # type: ignore[valid-type]
    encryptionKey: Key | None = Field(None, description="Zip password (optional).")


class RequestParams(Strict):
    msgid: Text | SkipJsonSchema[None] = None


class SubmitBody(Strict):
    """Sunbird's submit body; only `request` is read."""

    id: Text | SkipJsonSchema[None] = Field(None, examples=["ekstep.analytics.job.request.submit"])
    ver: Text | SkipJsonSchema[None] = Field(None, examples=["1.0"])
    ts: Text | SkipJsonSchema[None] = None
    params: RequestParams | SkipJsonSchema[None] = None
    request: PersonalDataRequest | ReportRequest


class SearchFilters(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    dataset: SearchValue | SkipJsonSchema[None] = None
    channel: SearchValue | SkipJsonSchema[None] = Field(
        None, description="Must be the caller's channel when given."
    )
    status: SearchValue | SkipJsonSchema[None] = None
    requestedDate: (
        Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})]
        | SkipJsonSchema[None]
    ) = Field(None, description="yyyy-MM-dd, a real calendar day.")


class SearchRequest(Strict):
    filters: SearchFilters
    limit: int | None = Field(None, ge=1, le=1000)


class SearchBody(Strict):
    request: SearchRequest


# ---- responses -----------------------------------------------------------------------------------
class OkParams(BaseModel):
    resmsgid: str
    status: Literal["successful"]
    client_key: None


class ErrorParams(BaseModel):
    resmsgid: str
    status: Literal["failed"]
    client_key: None
    err: str
    errmsg: str = Field(description="One plain sentence.")


class JobStats(BaseModel):
    dtJobSubmitted: int | None
    dtJobCompleted: int | None
    executionTime: int | None


class Job(BaseModel):
    """Sunbird's JobResponse, plus attempts, progress and phase."""

    requestId: str
    tag: str
    dataset: str
    requestedBy: str
    requestedChannel: str
    status: Literal["SUBMITTED", "PROCESSING", "SUCCESS", "FAILED"] | str
    lastUpdated: int | None
    datasetConfig: dict[str, Any]
    attempts: int
    jobStats: JobStats
    downloadUrls: list[str]
    expiresAt: int
    statusMessage: str
    progress: int
    phase: str


class JobList(BaseModel):
    count: int
    jobs: list[Job]


class _Envelope(BaseModel):
    id: str
    ver: str
    ts: str


class JobEnvelope(_Envelope):
    params: OkParams
    responseCode: Literal["OK"]
    result: Job


class JobListEnvelope(_Envelope):
    params: OkParams
    responseCode: Literal["OK"]
    result: JobList


class ReadEnvelope(_Envelope):
    """A job, or Sunbird's not-found answer: HTTP 200 with `params.status` failed and a null result."""

    params: OkParams | ErrorParams
    responseCode: Literal["OK"]
    result: Job | None


class ErrorEnvelope(_Envelope):
    params: ErrorParams
    responseCode: Literal["CLIENT_ERROR", "UNAUTHORIZED", "FORBIDDEN", "RESOURCE_NOT_FOUND", "SERVER_ERROR"]
    result: None


# ---- schedules and the TPD feed (api/schedules_tpd.py) ------------------------------------------
#: Five cron fields, each `*` or a list of numbers in its range, with an optional `/step`. The server reads
#: any cron expression (ranges too); the document describes a subset no valid calendar refuses (a day of
#: month up to 29, so `31 4` cannot happen).
_CRON_FIELDS = (r"[0-5]?\d", r"[01]?\d|2[0-3]", r"[1-9]|1\d|2[0-9]", r"[1-9]|1[0-2]", r"[0-6]")
CRON = "^" + " ".join(rf"(\*|({v})(,({v}))*)(/([1-9]\d?))?" for v in _CRON_FIELDS) + "$"  # fmt: skip


class FromEmitted(Strict):
    """The batches come from the newest emitted `diksha_api_progress_exhaust_batch_ids` file at each run."""

    fromEmitted: Literal[EMITTED_SOURCES]  # type: ignore[valid-type]


ScheduleConfig = ByBatchId | ByBatchFilter | BySearchFilter | FromEmitted


class _ScheduleCommon(Strict):
    cron: Annotated[str, Field(pattern=CRON, examples=["0 6 * * *"])] = Field(
        description="When it runs (minute hour day month weekday, in EXHAUST_TIMEZONE)."
    )
    tag: Tag | SkipJsonSchema[None] = Field(None, description="The requests' tag (default schedule-<id>).")
    requestedBy: Annotated[str, Field(max_length=50, pattern=r"^[^\x00]*$")] | SkipJsonSchema[None] = None
    email: (
        Annotated[str, Field(max_length=200, pattern=r"^[^\x00@\s]+@[^\x00@\s]+$")] | SkipJsonSchema[None]
    ) = Field(None, description="Mail each run's outcome here.")


class PersonalSchedule(_ScheduleCommon):
    dataset: PersonalDataset  # type: ignore[valid-type]
    datasetConfig: ScheduleConfig
    encryptionKey: Key = Field(description="Zip password (required for personal data).")


class ReportSchedule(_ScheduleCommon):
    dataset: OtherDataset  # type: ignore[valid-type]
    datasetConfig: ScheduleConfig
    encryptionKey: Key | SkipJsonSchema[None] = None


class FeedSchedule(_ScheduleCommon):
    """The TPD feed's run (the channel must be EXHAUST_TPD_CHANNEL when that is set)."""

    dataset: Literal["tpd"]
    datasetConfig: dict[str, Any] | SkipJsonSchema[None] = None


class ScheduleBody(Strict):
    request: PersonalSchedule | ReportSchedule | FeedSchedule


class Schedule(BaseModel):
    scheduleId: str
    dataset: str
    datasetConfig: dict[str, Any]
    cron: str
    timezone: str
    tag: str
    channel: str
    requestedBy: str
    encrypted: bool
    nextRunAt: str | None
    lastSlotAt: str | None
    lastRunAt: str | None
    lastRequestId: str | None
    lastError: str | None
    runs: int


class ScheduleList(BaseModel):
    count: int
    schedules: list[Schedule]


class ScheduleRemoved(BaseModel):
    scheduleId: str
    removed: Literal[True]


class ScheduleStarted(BaseModel):
    scheduleId: str
    started: str | None = Field(description="The request id of the run (null when nothing was started).")


class TpdFile(BaseModel):
    batchId: str | None
    status: str | None
    file: str | None
    layout: str | None
    totalRecords: int | None
    processedRecords: int | None
    errorFile: str | None
    attempts: int | None
    error: str | None


class TpdRequest(BaseModel):
    requestId: str | None
    tag: str | None
    batches: Any
    requestStatus: str | None
    processStatus: str | None
    totalFiles: int | None
    filesProcessed: int | None
    filesEmitted: int | None
    error: str | None
    requestedOn: str
    files: list[TpdFile]


class TpdRun(BaseModel):
    runId: str
    status: str
    aggregated: bool
    summary: dict[str, Any]
    requests: list[TpdRequest]


class TpdRuns(BaseModel):
    runs: list[TpdRun]


def envelope_of(result: type[BaseModel], name: str) -> type[BaseModel]:
    """Sunbird's success envelope around `result`, as a model named `name`."""
    ok_code: Any = Literal["OK"]
    return create_model(  # type: ignore[call-overload,no-any-return]
        name,
        __base__=_Envelope,
        params=(OkParams, ...),
        responseCode=(ok_code, ...),
        result=(result, ...),
    )


ScheduleEnvelope = envelope_of(Schedule, "ScheduleEnvelope")
ScheduleListEnvelope = envelope_of(ScheduleList, "ScheduleListEnvelope")
ScheduleRemovedEnvelope = envelope_of(ScheduleRemoved, "ScheduleRemovedEnvelope")
ScheduleStartedEnvelope = envelope_of(ScheduleStarted, "ScheduleStartedEnvelope")
TpdRunEnvelope = envelope_of(TpdRun, "TpdRunEnvelope")
TpdRunsEnvelope = envelope_of(TpdRuns, "TpdRunsEnvelope")


# ---- declared errors -----------------------------------------------------------------------------
ERRORS = {
    400: "The request is not usable as given (one plain sentence), or it names a batch that does not exist "
    "or belongs to a retired collection.",
    401: "No valid bearer token.",
    403: "The token may not act for this channel, batch or search.",
    404: "No such file or endpoint.",
    405: "The method is not allowed here (the Allow header lists those that are).",
    413: "The body is larger than EXHAUST_API_MAX_BODY_BYTES.",
    415: "The body is not JSON (Content-Type).",
    503: "The job store or the platform data cannot be reached right now; retry after Retry-After seconds.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of these error statuses, each with Sunbird's error envelope."""
    declared: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorEnvelope, "description": ERRORS[code]}
        if code == 503:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
        if code == 405:
            entry["headers"] = {"Allow": {"schema": {"type": "string"}, "description": "Allowed methods."}}
        declared[code] = entry
    return declared


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the JSON body (the handler reads the raw body itself)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema_of(model)}}}}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema for `openapi_extra`: `contract_openapi` moves it (and what it refers to) into
    the components and refers to it by name."""
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


CHANNEL_HEADER = {
    "name": "X-Channel-ID",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "pattern": r"^[\x21-\x7e]+$"},
    "description": "The channel (org id) the caller acts for: the token's channel.",
}
#: Schemas of parameters the handlers read as plain text (to answer Sunbird's messages themselves).
PARAMETER_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("path", "tag"): {"type": "string", "minLength": 1, "maxLength": 49,
                      "pattern": r"^[^/\x00-\x1f\x7f-\x9f]*[^/\s\x00-\x1f\x7f-\x9f][^/\x00-\x1f\x7f-\x9f]*$"},
    ("query", "requestId"): {"type": "string", "maxLength": 50, "pattern": r"^[^\x00-\x1f\x7f]*$"},
    ("query", "limit"): {"type": "integer", "minimum": 1, "maximum": 1000},
}  # fmt: skip
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A token from `exhaust token create`."},
    "emissionJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An emission token (HS256 JWT, checked as Kong's jwt plugin does) from "
        "`exhaust emission token create`.",
    },
}
#: Models every document carries (referred to by name from declared errors).
SHARED_MODELS: tuple[type[BaseModel], ...] = (ErrorEnvelope, emission.Message)
SWAGGER_ASSETS = "/docs-assets"


# ---- the document --------------------------------------------------------------------------------
def contract_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the body models, the bearer scheme, and no 422 (the app answers 400)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in SHARED_MODELS:
        _hoist(schemas, schema_of(model))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = {**SECURITY_SCHEMES, **getattr(app.state, "security_schemes", {})}
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                override = PARAMETER_SCHEMAS.get((parameter.get("in"), parameter.get("name")))
                if override is not None:
                    title = parameter.get("schema", {}).get("title")
                    parameter["schema"] = {**override, **({"title": title} if title else {})}
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "title" in media.get("schema", {}):
                    media["schema"] = _hoist(schemas, media["schema"])
            responses = operation.get("responses", {})
            validation = responses.pop("422", None)
            if validation is not None and "400" not in responses:
                responses["400"] = {
                    "description": ERRORS[400],
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
                    },
                }
    app.openapi_schema = document
    return document


def _hoist(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, str]:
    """Put a model's schema and its definitions in the components; a reference to it."""
    schema = dict(schema)
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas[schema["title"]] = schema
    return {"$ref": f"#/components/schemas/{schema['title']}"}


def add_security_schemes(app: FastAPI, schemes: dict[str, dict[str, Any]]) -> None:
    """Security schemes of routes a higher layer adds (the dashboard's session)."""
    app.state.security_schemes = {**getattr(app.state, "security_schemes", {}), **schemes}


def install(app: FastAPI) -> None:
    """Serve the contract at /openapi.json and Swagger UI at /docs from packaged assets (works offline)."""
    from swagger_ui_bundle import swagger_ui_path

    app.openapi = lambda: contract_openapi(app)  # type: ignore[method-assign]
    app.mount(SWAGGER_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
        )
