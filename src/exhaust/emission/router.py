"""The emission API under `/data` (research §3.2): cQube's paths, request and response shapes.

Every call needs `Authorization: Bearer <jwt>` (see `tokens.py`): `upload-url` an emitter or admin
consumer, the list / download / status endpoints an admin. Parameters come as form fields or JSON, as
cQube's reqparse read them, so the stock client's form-encoded `filename` works. Errors are JSON
`{"message": …}` (Kong's shape), never an HTML page or a 500 for a client's mistake.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from exhaust.emission import contract as c
from exhaust.emission.areas import EMISSION, Areas, open_areas
from exhaust.emission.ingest import summaries
from exhaust.emission.presign import (
    check_download_link,
    check_upload_form,
    local_download_link,
    local_upload_form,
    s3_presigned_get,
    s3_presigned_post,
)
from exhaust.emission.spec import known_dirs, source_for_key
from exhaust.emission.tables import open_cqube_engine
from exhaust.emission.tokens import Credentials
from exhaust.errors import BadInput, EmissionUnauthorized, ExhaustError
from exhaust.outputs.signing import load_signing_secret
from exhaust.outputs.storage import INCOMING, validate_key

UPLOAD_PATH = "/upload"
DOWNLOAD_URL_SECONDS = 86400  # cQube: download_url 86400 s, download_uri 3600 s
DOWNLOAD_URI_SECONDS = 3600
LIST_LIMIT = 1000
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class Reply(Exception):
    """A JSON error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Parts:
    credentials: Credentials
    areas: Areas
    secret: bytes
    settings: Any


def build_router(settings: Any) -> APIRouter:
    """The `/data` router over the settings' cQube database and areas (opened on first use)."""
    ctx = _Context(settings)
    router = APIRouter(tags=["cQube emission"])
    router.add_api_route(
        "/upload-url", ctx.route(False, upload_url), methods=["POST"], name="upload_url",
        summary="A presigned POST for one emitted file",
        responses={**c.ok(c.UploadForm, "Where and how to upload the file."), **c.errors(400, 401, 413, 503)},
        openapi_extra=c.body(c.UploadUrlParams),
    )  # fmt: skip
    router.add_api_route(
        UPLOAD_PATH, ctx.upload_route(), methods=["POST"], name="emission_upload", include_in_schema=False
    )
    router.add_api_route(
        "/list_s3_buckets", ctx.route(True, list_buckets), methods=["GET"], name="list_buckets",
        summary="The input, output and emission bucket names",
        responses={**c.ok(c.Buckets, "Bucket name per area."), **c.errors(401, 403, 503)},
        openapi_extra={"security": c.SECURITY},
    )  # fmt: skip
    router.add_api_route(
        "/list_s3_files", ctx.route(True, list_files), methods=["POST"], name="list_files",
        summary="The objects of a bucket (at most 1000)",
        responses={**c.ok(c.Listing, "The bucket's objects."), **c.errors(400, 401, 403, 413, 503)},
        openapi_extra=c.body(c.BucketParams),
    )  # fmt: skip
    router.add_api_route(
        "/download_uri", ctx.route(True, download_uri), methods=["POST"], name="download_uri",
        summary="Links (valid 1 hour) to one or more objects",
        responses={
            **c.ok({"content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": {"type": "string"}}}}}, "A link per key."),
            **c.errors(400, 401, 403, 404, 413, 503),
        },
        openapi_extra=c.body(c.FilesParams),
    )  # fmt: skip
    router.add_api_route(
        "/download_url", ctx.route(True, download_url), methods=["POST"], name="download_url",
        summary="A link (valid 1 day) to an object",
        responses={
            **c.ok({"content": {"text/plain": {"schema": {"type": "string"}}}}, "The link, as plain text."),
            **c.errors(400, 401, 403, 404, 413, 503),
        },
        openapi_extra=c.body(c.FileParams),
    )  # fmt: skip
    router.add_api_route(
        "/download", ctx.route(True, download), methods=["POST"], name="download",
        summary="An object's bytes (an attachment)",
        responses={
            **c.ok({"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                   "The file."),
            **c.errors(400, 401, 403, 404, 413, 503),
        },
        openapi_extra=c.body(c.FileParams),
    )  # fmt: skip
    router.add_api_route(
        "/log_summary", ctx.route(True, log_summary), methods=["GET"], name="log_summary",
        summary="Ingestion counts and status per emitted file, newest first",
        responses={**c.ok(c.LogSummary, "The newest files."), **c.errors(400, 401, 403, 503)},
        openapi_extra={"security": c.SECURITY, "parameters": [
            {"name": "data_source", "in": "query", "required": False,
             "schema": {"type": "string", "maxLength": 100, "pattern": r"^[^\x00]*$"}},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
        ]},
    )  # fmt: skip
    router.add_api_route(
        "/file/{area}/{key:path}",
        ctx.file_route(),
        methods=["GET"],
        name="emission_file",
        include_in_schema=False,
    )
    return router


#: What a guarded route does once its consumer is verified: (parts, request, parameters) -> answer.
Work = Callable[[Parts, Request, dict[str, list[str]]], Awaitable[Response]]


class _Context:
    """The router's one context: its settings and the parts opened from them on first use."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._parts: Parts | None = None

    def parts(self) -> Parts:
        with self._lock:
            if self._parts is None:
                self._parts = Parts(
                    Credentials(open_cqube_engine(self.settings)),
                    open_areas(self.settings),
                    load_signing_secret(self.settings),
                    self.settings,
                )
            return self._parts

    async def guarded(self, request: Request, admin: bool, work: Work) -> Response:
        try:
            p = await run_in_threadpool(self.parts)
            consumer = await run_in_threadpool(p.credentials.verify, request.headers.get("authorization"))
            if admin and not consumer.admin:
                raise Reply(403, "This endpoint needs an admin consumer.")
            return await work(p, request, await _params(request))
        except Reply as reply:
            return JSONResponse({"message": reply.message}, status_code=reply.status)
        except EmissionUnauthorized as exc:
            return JSONResponse({"message": exc.message}, status_code=401)
        except BadInput as exc:
            return JSONResponse({"message": exc.message}, status_code=400)
        except ExhaustError as exc:
            return JSONResponse({"message": exc.message}, status_code=503)

    def route(self, admin: bool, work: Work) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of a guarded route: a bearer token (an admin's when `admin`), then `work`."""

        async def endpoint(request: Request) -> Response:
            return await self.guarded(request, admin, work)

        endpoint.__name__, endpoint.__doc__ = work.__name__, work.__doc__
        return endpoint

    def upload_route(self) -> Callable[[Request], Awaitable[Response]]:
        async def upload(request: Request) -> Response:
            """The local emission area's stand-in for S3's POST upload (checked like S3's policy)."""
            return await _upload(self, request)

        return upload

    def file_route(self) -> Callable[[Request, str, str], Awaitable[Response]]:
        async def signed_file(request: Request, area: str, key: str) -> Response:
            """A local area's file behind a link from download_url / download_uri / log_summary."""
            return await _signed_file(self, request, area, key)

        return signed_file


async def upload_url(p: Parts, request: Request, params: dict[str, list[str]]) -> Response:
    """A presigned POST for one emitted file (`filename` = `<data_source_dir>/<file>`)."""
    key = emission_key(_one(params, "filename"), p.settings.timezone)
    limit, expires = p.settings.emission_max_upload_bytes, p.settings.emission_upload_expiry_seconds
    if p.areas.emission.is_local:
        url = str(request.url_for("emission_upload"))
        return JSONResponse(local_upload_form(p.secret, url, key, limit, expires))
    answer = await run_in_threadpool(s3_presigned_post, p.areas.emission, key, limit, expires)
    return JSONResponse(answer)


async def _upload(ctx: _Context, request: Request) -> Response:
    try:
        p = await run_in_threadpool(ctx.parts)
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        key, limit = check_upload_form(p.secret, fields)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Reply(400, "POST requires exactly one file upload per request.")
        await run_in_threadpool(_store_upload, p.areas, key, upload.file, limit)
    except Reply as reply:
        return JSONResponse({"message": reply.message}, status_code=reply.status)
    except BadInput as exc:
        return JSONResponse({"message": exc.message}, status_code=403)
    return Response(status_code=204)


async def list_buckets(p: Parts, _request: Request, _params: dict[str, list[str]]) -> Response:
    return JSONResponse(p.areas.names)


async def list_files(p: Parts, _request: Request, params: dict[str, list[str]]) -> Response:
    bucket = _one(params, "bucket")
    storage = _area(p, bucket)
    contents = await run_in_threadpool(_listing, storage)
    return JSONResponse(
        {
            "Name": bucket,
            "Prefix": "",
            "MaxKeys": LIST_LIMIT,
            "IsTruncated": len(contents) > LIST_LIMIT,
            "Contents": contents[:LIST_LIMIT],
        }
    )


async def download_uri(p: Parts, request: Request, params: dict[str, list[str]]) -> Response:
    storage = _area(p, _one(params, "bucket"))
    names = [n for n in params.get("filename", []) if n]
    if not names:
        raise Reply(400, "Bad request, validate the filename in payload")
    links = {}
    for name in names:
        links[name] = await run_in_threadpool(_link, p, request, storage, name, DOWNLOAD_URI_SECONDS)
    return JSONResponse(links)


async def download_url(p: Parts, request: Request, params: dict[str, list[str]]) -> Response:
    storage = _area(p, _one(params, "bucket"))
    link = await run_in_threadpool(_link, p, request, storage, _one(params, "filename"), DOWNLOAD_URL_SECONDS)
    return PlainTextResponse(link)


async def download(p: Parts, _request: Request, params: dict[str, list[str]]) -> Response:
    storage = _area(p, _one(params, "bucket"))
    key = _existing(storage, _one(params, "filename"))
    return _attachment(storage, key)


async def log_summary(p: Parts, request: Request, params: dict[str, list[str]]) -> Response:
    """Ingestion counts and status per emitted file, newest first, with the error file's link."""
    source = next(iter(params.get("data_source") or []), None)
    limit = _limit((params.get("limit") or ["100"])[0])
    rows = await run_in_threadpool(summaries, p.credentials.engine, limit, source)
    for row in rows:
        if row.get("error_file"):
            row["error_file_url"] = await run_in_threadpool(
                _link, p, request, p.areas.output, row["error_file"], DOWNLOAD_URI_SECONDS
            )
    return JSONResponse({"files": rows})


async def _signed_file(ctx: _Context, request: Request, area: str, key: str) -> Response:
    try:
        p = await run_in_threadpool(ctx.parts)
        check_download_link(
            p.secret,
            area,
            key,
            request.query_params.get("expires", ""),
            request.query_params.get("signature", ""),
        )
        storage = getattr(p.areas, area, None) if area in ("input", "output", EMISSION) else None
        if storage is None:
            raise Reply(404, "No such file.")
        return _attachment(storage, _existing(storage, key))
    except Reply as reply:
        return JSONResponse({"message": reply.message}, status_code=reply.status)
    except BadInput as exc:
        return JSONResponse({"message": exc.message}, status_code=403)


_TOO_LARGE = "Your proposed upload exceeds the maximum allowed size"


def emission_key(filename: str, timezone: str) -> str:
    """The emission key of a client path: `<dir>/<stem>_<YYYYmmddHHMMSS>_<unique>.<ext>`.

    Only `<known data-source dir>/<file>` (or a bare DIKSHA file name) of a known data source; no
    `..`, no absolute path, no empty key. Two uploads of one name in one second get different keys.
    """
    name = filename.strip()
    if not name:
        raise Reply(400, "Bad request, validate the payload: filename is empty")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        raise Reply(400, "filename must be a relative path <data_source_dir>/<file>")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise Reply(400, "filename must not contain '..' or empty path segments")
    if len(parts) > 2 or not all(_PLAIN.match(part) for part in parts):
        raise Reply(400, "filename must be <data_source_dir>/<file> with plain characters")
    if len(parts) == 2 and parts[0] not in known_dirs():
        raise Reply(400, f"unknown data-source folder {parts[0]!r}")
    if source_for_key(name) is None:
        raise Reply(400, f"{name!r} is not a file of a known data source")
    folder = f"{parts[0]}/" if len(parts) == 2 else ""
    stem, dot, ext = parts[-1].rpartition(".")
    if not dot:
        stem, ext = parts[-1], ""
    stamp = datetime.now(ZoneInfo(timezone)).strftime("%Y%m%d%H%M%S")
    unique = secrets.token_hex(4)
    return validate_key(f"{folder}{stem}_{stamp}_{unique}{'.' + ext if ext else ''}")


async def _params(request: Request) -> dict[str, list[str]]:
    """Form fields or a JSON object (cQube's reqparse took either), plus query parameters."""
    out: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        out.setdefault(k, []).append(v)
    if request.method != "POST":
        return out
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        try:
            body = await request.json()
        except ValueError:
            raise Reply(400, "Bad request, the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Reply(400, "Bad request, the body must be a JSON object")
        for k, v in body.items():
            values = v if isinstance(v, list) else [v]
            out.setdefault(str(k), []).extend(str(x) for x in values if x is not None)
    elif "form" in kind:
        form = await request.form()
        for name, item in form.multi_items():
            if isinstance(item, str):  # file parts are not parameters
                out.setdefault(name, []).append(item)
    return out


def _one(params: dict[str, list[str]], name: str) -> str:
    values = [v for v in params.get(name, []) if v.strip()]
    if not values:
        raise Reply(400, f"Bad request, validate the payload: {name} is missing")
    return values[0].strip()


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise Reply(400, "limit must be a number from 1 to 1000")
    return int(text)


def _area(p: Parts, bucket: str):
    storage = p.areas.by_bucket(bucket)
    if storage is None:
        raise Reply(400, "Bad request, not cqube bucket - validate the bucket name")
    return storage


def _existing(storage, key: str) -> str:
    try:
        validate_key(key)
    except BadInput:
        raise Reply(400, "Bad request, validate the filename in payload") from None
    if key.startswith(f"{INCOMING}/") or not storage.exists(key):
        raise Reply(404, "No such file in this bucket.")
    return key


def _link(p: Parts, request: Request, storage, key: str, expires: int) -> str:
    key = _existing(storage, key)
    if not storage.is_local:
        return s3_presigned_get(storage, key, expires)
    role = next(r for r in ("input", "output", EMISSION) if getattr(p.areas, r) is storage)
    base = str(request.url_for("emission_file", area=role, key="x")).rsplit(f"/{role}/", 1)[0]
    return local_download_link(p.secret, base, role, key, expires)


def _attachment(storage, key: str) -> Response:
    handle = storage.open(key)

    def chunks():
        with handle:
            while block := handle.read(1 << 20):
                yield block

    name = key.rsplit("/", 1)[-1]
    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _listing(storage) -> list[dict[str, Any]]:
    """Key, size and modification time of every object (one listing call, as S3's list_objects)."""
    root = storage.root if storage.is_local else storage.fs._strip_protocol(storage.root)
    if not storage.is_local:
        storage.fs.invalidate_cache(storage.root)
    if not storage.fs.exists(storage.root):
        return []
    found = []
    for path, info in sorted(storage.fs.find(storage.root, detail=True).items()):
        key = str(path)[len(root) :].lstrip("/")
        if key.startswith(f"{INCOMING}/"):
            continue
        modified = info.get("LastModified") or info.get("mtime") or info.get("created")
        if isinstance(modified, int | float):
            modified = datetime.fromtimestamp(modified).astimezone()
        found.append({"Key": key, "Size": int(info.get("size") or 0), "LastModified": str(modified or "")})
    return found


def _store_upload(areas: Areas, key: str, source, limit: int) -> None:
    """Write an uploaded file to the local emission area: temp name, size checked, then renamed."""
    root = Path(areas.emission.root)
    incoming = root / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{uuid.uuid4().hex}.part"
    size = 0
    try:
        with temp.open("wb") as out:
            while block := source.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise Reply(400, _TOO_LARGE)
                out.write(block)
        if size == 0:
            raise Reply(400, "Your proposed upload is smaller than the minimum allowed size")
        target = Path(areas.emission.path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
