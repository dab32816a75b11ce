"""The dashboard's pages under `/dashboard/`: sign-in, courses, a batch, its requests, the download ratio.

Every page but sign-in needs a session (else a redirect to sign-in); every form carries the session's
CSRF token and a POST without it is refused with 403; batch pages and their data apply the API's
`may_act_on_batch`. The Download File form is turned into a Sunbird submit body and handed to the API's
own `submit_as`, so the dashboard can request nothing the API would refuse.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from exhaust.api.auth import may_act_on_batch
from exhaust.api.batches import BatchFacts
from exhaust.api.context import in_thread
from exhaust.api.dataset_requests import submit_as, visible
from exhaust.api.envelope import ApiError
from exhaust.api.validation import parse_submit
from exhaust.dashboard import contract
from exhaust.dashboard.charts import bar_chart, hbar_chart
from exhaust.dashboard.messages import choose_language, translator
from exhaust.dashboard.ratio import date_range, ratio_csv
from exhaust.dashboard.service import Dashboard
from exhaust.dashboard.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    Session,
    same_token,
)
from exhaust.engine.summary import BUCKETS, BatchSummary
from exhaust.errors import BadInput, ExhaustError, HierarchyNotFound
from exhaust.jobs.datasets import DATASETS, KEY_REQUIRED
from exhaust.jobs.store import FAILED, SUCCESS
from exhaust.jobs.views import job_response
from exhaust.sources.failures import SourceUnavailable

HERE = Path(__file__).parent
PREFIX = "/dashboard"
MAX_AREAS_CHARTED = 12
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix=PREFIX, include_in_schema=False)
#: The pages' JSON data (in the OpenAPI document; the HTML pages are not).
data_router = APIRouter(prefix=PREFIX, tags=["dashboard"])
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "j2", "svg"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def dashboard_of(request: Request) -> Dashboard:
    return request.app.state.dashboard


# ---- rendering ---------------------------------------------------------------------------------
def render(
    request: Request, name: str, session: Session | None, status: int = 200, **values: Any
) -> HTMLResponse:
    language = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    page = templates.get_template(name).render(
        t=translator(language),
        lang=language,
        session=session,
        csrf_field=CSRF_FIELD,
        prefix=PREFIX,
        **values,
    )
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, session: Session | None, status: int, key: str) -> HTMLResponse:
    return render(request, "error.html.j2", session, status=status, message_key=key)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _current(request: Request) -> tuple[Dashboard, Session | None]:
    dash = dashboard_of(request)
    return dash, dash.sessions.read(request.cookies.get(SESSION_COOKIE))


def _to_signin(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target, safe='')}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a path of the dashboard itself (never another site) is followed after sign-in."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{PREFIX}/courses"


async def _form(request: Request) -> dict[str, str]:
    """The text fields of a posted form; a body that is not a form gives none (and so fails CSRF)."""
    try:
        form = await request.form()
    except Exception:  # a malformed multipart body is the client's mistake, never a 500
        return {}
    return {k: v for k, v in form.items() if isinstance(v, str)}


# ---- sign-in and out ---------------------------------------------------------------------------
@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/courses", status_code=303)


def _signin_page(
    request: Request,
    status: int = 200,
    error: str | None = None,
    note: str | None = None,
    next_url: str | None = None,
) -> Response:
    csrf = request.cookies.get(SIGNIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "signin.html.j2",
        None,
        status=status,
        signin_csrf=csrf,
        next=_safe_next(next_url or request.query_params.get("next")),
        error_key=error,
        note_key=note,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request), path=PREFIX
    )
    return response


@router.get("/sign-in")
def signin_form(request: Request) -> Response:
    note = {"out": "signin.signed_out"}.get(request.query_params.get("note", ""))
    return _signin_page(request, note=note)


@router.post("/sign-in")
async def signin(request: Request) -> Response:
    return await run_in_threadpool(_signin, request, await _form(request))


def _signin(request: Request, form: dict[str, str]) -> Response:
    if not same_token(request.cookies.get(SIGNIN_CSRF_COOKIE), form.get(CSRF_FIELD)):
        return error_page(request, None, 403, "error.csrf")
    dash = dashboard_of(request)
    principal = dash.api.tokens.authenticate(form.get("token", "").strip())
    if principal is None:
        return _signin_page(request, 401, error="signin.bad_token", next_url=form.get("next"))
    if principal.is_service or not principal.user_id:
        return _signin_page(request, 403, error="signin.no_user", next_url=form.get("next"))
    session_id = dash.sessions.open(principal)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(dash.api.settings.dashboard_session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
async def signout(request: Request) -> Response:
    return await run_in_threadpool(_signout, request, await _form(request))


def _signout(request: Request, form: dict[str, str]) -> Response:
    dash, session = _current(request)
    if session is None:
        return _to_signin(request)
    if not same_token(session.csrf, form.get(CSRF_FIELD)):
        return error_page(request, session, 403, "error.csrf")
    dash.sessions.close(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{PREFIX}/sign-in?note=out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- courses -----------------------------------------------------------------------------------
@router.get("/courses")
def courses(request: Request, q: str = "") -> Response:
    dash, session = _current(request)
    if session is None:
        return _to_signin(request)
    principal = session.principal
    try:
        found = dash.catalog.courses(principal.channel)
    except ExhaustError:
        return error_page(request, session, 503, "error.source_down")
    query = q.strip().lower()[:100]
    shown = []
    for course in found:
        batches = [
            b
            for b in course.batches
            if may_act_on_batch(
                principal,
                BatchFacts(b.batch_id, course.course_id, course.channel, course.status, mentors=b.mentors),
            )
        ]
        if query and query not in course.name.lower() and query not in course.course_id.lower():
            batches = [b for b in batches if query in b.name.lower() or query in b.batch_id.lower()]
        if batches:
            shown.append((course, batches))
    return render(request, "courses.html.j2", session, courses=shown, q=q[:100])


# ---- a batch -----------------------------------------------------------------------------------
def _batch(request: Request, batch_id: str) -> tuple[Dashboard, Session, BatchFacts] | Response:
    """The batch if the signed-in user may see it; else the sign-in redirect, 404 or 403 page."""
    dash, session = _current(request)
    if session is None:
        return _to_signin(request)
    try:
        facts = dash.api.batches.lookup([batch_id]).get(batch_id)
    except ExhaustError:
        return error_page(request, session, 503, "error.source_down")
    if facts is None:
        return error_page(request, session, 404, "error.not_found")
    if not may_act_on_batch(session.principal, facts):
        return error_page(request, session, 403, "error.forbidden")
    return dash, session, facts


def tag_of(facts: BatchFacts) -> str:
    """The request tag of a batch, as Sunbird's portal builds it: `<courseId>_<batchId>`."""
    return f"{facts.course_id}_{facts.batch_id}"


def _requests(dash: Dashboard, session: Session, facts: BatchFacts) -> list[dict]:
    """The batch's requests the user may see, newest first (a source outage raises SourceUnavailable)."""
    principal = session.principal
    jobs = dash.api.store.list(tag_of(facts), channel=principal.channel, limit=50)
    try:
        shown = visible(dash.api, principal, jobs)
    except ApiError as error:  # the source could not be read to check the batches
        raise SourceUnavailable(error.message) from None
    return [job_response(job, dash.api.signer) for job in shown]


def _charts(t: Any, summary: BatchSummary) -> dict[str, Any]:
    distribution = bar_chart(t("batch.distribution_caption"), BUCKETS, summary.distribution)
    area_charts = {}
    for name, areas in (("districts", summary.districts), ("blocks", summary.blocks)):
        top = areas[:MAX_AREAS_CHARTED]
        area_charts[name] = hbar_chart(
            t(f"batch.{name}"),
            [a.name or t("batch.unknown_area") for a in top],
            [a.percent for a in top],
            [f"{a.percent:g}%" for a in top],
            full_scale=100,
        )
    return {"distribution_chart": distribution, **{f"{k}_chart": v for k, v in area_charts.items()}}


def _render_batch(
    request: Request,
    dash: Dashboard,
    session: Session,
    facts: BatchFacts,
    *,
    queued: str | None = None,
    form_error: str | None = None,
    status: int = 200,
) -> Response:
    try:
        summary = dash.figures.summary(facts.batch_id)
        jobs = _requests(dash, session, facts)
    except HierarchyNotFound:
        return error_page(request, session, 404, "error.no_hierarchy")
    except ExhaustError:
        return error_page(request, session, 503, "error.source_down")
    language = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    return render(
        request,
        "batch.html.j2",
        session,
        status=status,
        facts=facts,
        summary=summary,
        buckets=BUCKETS,
        reports=[(d, d in KEY_REQUIRED) for d in DATASETS],
        jobs=jobs,
        queued=queued,
        form_error=form_error,
        figures_at=datetime.now(UTC).strftime("%H:%M:%S UTC"),
        cache_seconds=int(dash.api.settings.dashboard_cache_seconds),
        **_charts(translator(language), summary),
    )


@router.get("/batches/{batch_id}")
def batch_page(request: Request, batch_id: str) -> Response:
    found = _batch(request, batch_id)
    if isinstance(found, Response):
        return found
    dash, session, facts = found
    queued = request.query_params.get("queued")
    return _render_batch(request, dash, session, facts, queued=queued if queued in DATASETS else None)


@router.get("/batches/{batch_id}/requests")
def batch_requests(request: Request, batch_id: str) -> Response:
    """The requests list alone (what the page's live refresh swaps in)."""
    found = _batch(request, batch_id)
    if isinstance(found, Response):
        return found
    dash, session, facts = found
    try:
        jobs = _requests(dash, session, facts)
    except SourceUnavailable:
        return error_page(request, session, 503, "error.source_down")
    return render(request, "_requests.html.j2", session, facts=facts, jobs=jobs)


@data_router.get(
    "/batches/{batch_id}/summary.json",
    summary="A batch's figures (the numbers of its dashboard page)",
    response_model=contract.BatchFigures,
    responses={
        303: {"description": "No session: to the sign-in page (Location)."},
        **{
            code: {"model": contract.NotAvailable, "description": text}
            for code, text in (
                (403, "The signed-in user may not see this batch."),
                (404, "No such batch."),
                (503, "The platform data could not be read just now."),
            )
        },
    },
    openapi_extra={"security": contract.SESSION_SECURITY},
)
def batch_summary_json(request: Request, batch_id: str) -> Response:
    """The batch's figures as JSON (the same numbers as the page)."""
    found = _batch(request, batch_id)
    if isinstance(found, Response):
        if found.status_code in (403, 404, 503):
            return JSONResponse({"error": "not available"}, status_code=found.status_code)
        return found
    dash, _session, _facts = found
    try:
        s = dash.figures.summary(batch_id)
    except ExhaustError:
        return JSONResponse({"error": "The platform data could not be read just now."}, status_code=503)
    areas = lambda rows: [{"name": a.name, "enrolled": a.enrolled, "completed": a.completed} for a in rows]  # noqa: E731
    return JSONResponse(
        {
            "batchId": s.batch_id,
            "courseId": s.course_id,
            "enrolled": s.enrolled,
            "completed": s.completed,
            "completionPercent": s.percent,
            "certificates": s.certificates,
            "distribution": dict(zip(BUCKETS, s.distribution, strict=True)),
            "districts": areas(s.districts),
            "blocks": areas(s.blocks),
        }
    )


@router.post("/batches/{batch_id}/requests")
async def download_file(request: Request, batch_id: str) -> Response:
    """Download File: queue the report through the API's submit path, then back to the batch page."""
    form = await _form(request)
    ctx = dashboard_of(request).api
    return await in_thread(ctx, _download_file, request, batch_id, form)


def _download_file(request: Request, batch_id: str, form: dict[str, str]) -> Response:
    found = _batch(request, batch_id)
    if isinstance(found, Response):
        return found
    dash, session, facts = found
    if not same_token(session.csrf, form.get(CSRF_FIELD)):
        return error_page(request, session, 403, "error.csrf")
    dataset = form.get("dataset", "")
    body: dict[str, Any] = {
        "id": "ekstep.analytics.dataset.request.submit",
        "ver": "1.0",
        "params": {"msgid": secrets.token_hex(8)},
        "request": {"tag": tag_of(facts), "dataset": dataset, "datasetConfig": {"batchId": facts.batch_id}},
    }
    password = form.get("password", "")
    if password:
        body["request"]["encryptionKey"] = password
    page = f"{PREFIX}/batches/{quote(batch_id, safe='')}"
    try:
        submit = parse_submit(body)
        submit_as(dash.api, session.principal, session.principal.channel, submit, request)
    except ApiError as error:
        return _render_batch(request, dash, session, facts, form_error=error.message, status=error.status)
    return RedirectResponse(f"{page}?{urlencode({'queued': dataset})}#requests", status_code=303)


# ---- the download ratio ------------------------------------------------------------------------
def _ratio(request: Request) -> tuple[Dashboard, Session, Any] | Response:
    dash, session = _current(request)
    if session is None:
        return _to_signin(request)
    if not session.principal.is_org_admin:
        return error_page(request, session, 403, "error.ratio_forbidden")
    try:
        start, end = date_range(request.query_params.get("from"), request.query_params.get("to"))
    except BadInput as error:
        return render(request, "ratio.html.j2", session, status=400, ratio=None, error=error.message)
    try:
        return dash, session, dash.ratio.compute(start, end, session.principal.channel)
    except ExhaustError:
        return error_page(request, session, 503, "error.source_down")


@router.get("/ratio")
def ratio_page(request: Request) -> Response:
    found = _ratio(request)
    if isinstance(found, Response):
        return found
    _dash, session, ratio = found
    language = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    t = translator(language)
    chart = bar_chart(
        t("ratio.over_time"),
        [d.day.strftime("%d %b") for d in ratio.days],
        [d.ratio or 0 for d in ratio.days],
        [f"{d.ratio:g}" if d.ratio is not None else t("ratio.none") for d in ratio.days],
    )
    query = urlencode({"from": ratio.start.isoformat(), "to": ratio.end.isoformat()})
    return render(request, "ratio.html.j2", session, ratio=ratio, chart=chart, error=None, query=query)


@router.get("/ratio.csv")
def ratio_export(request: Request) -> Response:
    found = _ratio(request)
    if isinstance(found, Response):
        return found
    _dash, _session, ratio = found
    name = f"download-ratio_{ratio.start:%Y%m%d}_{ratio.end:%Y%m%d}.csv"
    return StreamingResponse(
        ratio_csv(ratio),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def status_text(t: Any, job: dict) -> str:
    """A request's status in plain words (the failure reason as the worker wrote it)."""
    if job["status"] == FAILED:
        return t("status.FAILED", message=job["statusMessage"] or "unknown error")
    if job["status"] == SUCCESS:
        return t("status.SUCCESS")
    return t(f"status.{job['status']}", progress=job["progress"])


templates.globals["status_text"] = status_text
templates.globals["file_name"] = lambda url: Path(url.split("?", 1)[0]).name
templates.globals["pending"] = lambda jobs: any(j["status"] not in (SUCCESS, FAILED) for j in jobs)
templates.globals["when"] = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
