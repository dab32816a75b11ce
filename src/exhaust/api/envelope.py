"""Sunbird's response envelope (`id, ver, ts, params, responseCode, result`), so its clients parse ours.

Success: `params = {resmsgid, status: "successful", client_key: null}`. Error: `params` adds `err` (the
response code) and `errmsg` (one plain sentence), `status: "failed"`, and `result` is null. The HTTP
status follows the response code as in Sunbird's BaseController.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse

API_VERSION = "1.0"
SUBMIT_ID = "ekstep.analytics.dataset.request.submit"
READ_ID = "ekstep.analytics.dataset.request.info"
LIST_ID = "ekstep.analytics.dataset.request.list"
SEARCH_ID = "ekstep.analytics.dataset.request.search"
DOWNLOAD_ID = "exhaust.download"
GENERIC_ID = "exhaust.api"

OK = "OK"
CLIENT_ERROR = "CLIENT_ERROR"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "RESOURCE_NOT_FOUND"
SERVER_ERROR = "SERVER_ERROR"

#: HTTP status of each response code (Sunbird's mapping, plus 401 and 413/415 for what its gateway answered).
HTTP_STATUS = {
    OK: 200,
    CLIENT_ERROR: 400,
    UNAUTHORIZED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    SERVER_ERROR: 500,
}


class ApiError(Exception):
    """An error answered with Sunbird's error envelope; `message` is shown to the caller as is."""

    def __init__(
        self, code: str, message: str, *, status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or HTTP_STATUS.get(code, 500)
        self.headers = headers


def bad_request(message: str) -> ApiError:
    return ApiError(CLIENT_ERROR, message)


def forbidden(message: str) -> ApiError:
    return ApiError(FORBIDDEN, message)


def timestamp(now: datetime | None = None) -> str:
    """Sunbird's `ts`: `yyyy-MM-dd'T'HH:mm:ss.SSS+00:00` in UTC."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00"


def body(api_id: str, result: Any, *, code: str = OK, errmsg: str | None = None) -> dict:
    """The envelope as a dict: a success when `errmsg` is None, else an error."""
    params: dict[str, Any] = {"resmsgid": str(uuid.uuid4())}
    if errmsg is None:
        params.update(status="successful", client_key=None)
    else:
        params.update(err=code, status="failed", errmsg=errmsg, client_key=None)
    return {
        "id": api_id,
        "ver": API_VERSION,
        "ts": timestamp(),
        "params": params,
        "responseCode": code,
        "result": result,
    }


def ok(api_id: str, result: Any) -> JSONResponse:
    return JSONResponse(body(api_id, result), status_code=200)


def error(api_id: str, err: ApiError) -> JSONResponse:
    return JSONResponse(
        body(api_id, None, code=err.code, errmsg=err.message), status_code=err.status, headers=err.headers
    )


def soft_failure(api_id: str, message: str) -> JSONResponse:
    """Sunbird's read-not-found quirk: HTTP 200, `responseCode` OK, `params.status` failed, `err` OK."""
    return JSONResponse(body(api_id, None, code=OK, errmsg=message), status_code=200)


def api_id_for(path: str) -> str:
    """The API id of a path, for errors raised before a route runs (size limit, unknown route)."""
    if "/request/submit" in path:
        return SUBMIT_ID
    if "/request/read" in path:
        return READ_ID
    if "/request/list" in path:
        return LIST_ID
    if "/request/search" in path:
        return SEARCH_ID
    if path.startswith("/download/"):
        return DOWNLOAD_ID
    return GENERIC_ID


async def send_envelope(
    send: Any, path: str, status: int, code: str, message: str, headers: list | None = None
) -> None:
    """Answer an ASGI exchange directly with Sunbird's envelope (the middleware layers' own answers)."""
    payload = json.dumps(body(api_id_for(path), None, code=code, errmsg=message)).encode()
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": payload})
