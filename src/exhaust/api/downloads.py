"""`GET /download/{key}`: the local store's files behind HMAC-signed, expiring links (SPEC §4.3).

The link is the credential (it travels in mails and in read responses), so no token is asked for. A link
whose signature does not match, or whose time is up, is refused with 403; a fresh one comes from reading
the request again.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from exhaust.api.context import context_of
from exhaust.api.contract import errors
from exhaust.api.envelope import FORBIDDEN, NOT_FOUND, ApiError
from exhaust.outputs.signing import ExpiredDownloadLink, InvalidDownloadLink

router = APIRouter(tags=["downloads"])


@router.get(
    "/download/{key:path}",
    summary="Download a report file through a signed link",
    response_class=FileResponse,
    responses={
        200: {"description": "The file.", "content": {"application/zip": {}, "application/octet-stream": {}}},
        **errors(403, 404),
    },
)
def download(request: Request, key: str, expires: str = "", signature: str = "") -> FileResponse:
    """Stream the file of a signed link (local storage only; cloud stores hand out their own links)."""
    ctx = context_of(request)
    if not ctx.storage.is_local:
        raise ApiError(NOT_FOUND, "Files are served by the object store; read the request for a link.")
    try:
        ctx.signer.verify(key, expires, signature)
    except (ExpiredDownloadLink, InvalidDownloadLink) as error:
        raise ApiError(FORBIDDEN, error.message) from None
    path = ctx.storage.local_path(key)
    if path is None or not path.is_file():
        raise ApiError(NOT_FOUND, "This file no longer exists.")
    name = PurePosixPath(key).name
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, filename=name)
