"""An HTTP client of Sunbird's dataset request API (this exhaust's own, or a real Sunbird deployment).

Sunbird's request shape (research-sunbird-exhaust-api §2): `POST {base}/api/dataset/v1/request/submit`,
`GET …/list/{tag}` and `GET …/read/{tag}?requestId=`, each with `Authorization: Bearer <token>` and
`X-Channel-ID`. Report files come through the signed links of a read: a plain GET with no credentials (a
presigned cloud URL must not receive the bearer token), a relative `/download/…` link joined to the base.

Every call has a timeout; 5xx, 429 and network errors are retried with doubling waits and then reported
as a transient `RemoteServiceError`; a 4xx is terminal and its Sunbird `errmsg` becomes the message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from exhaust.errors import RemoteServiceError

log = logging.getLogger("exhaust.tpd")
API_PREFIX = "/api/dataset/v1/request"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class LinkExpired(RemoteServiceError):
    """A signed download link that is refused (expired or revoked): read the request again for a fresh one."""

    def __init__(self) -> None:
        super().__init__("the download link was refused (expired); a fresh one is needed", transient=True)


@dataclass(frozen=True)
class RemoteJob:
    """One request as the dataset API describes it (`JobResponse`)."""

    request_id: str
    tag: str
    status: str
    dataset: str = ""
    download_urls: tuple[str, ...] = ()
    status_message: str = ""
    dataset_config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def client_tag(self) -> str:
        """The tag without its `:channel` suffix (as cQube keeps it: the part before ':')."""
        return self.tag.split(":", 1)[0]

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> RemoteJob:
        urls = result.get("downloadUrls") or []
        return cls(
            request_id=str(result.get("requestId") or ""),
            tag=str(result.get("tag") or ""),
            status=str(result.get("status") or "").upper(),
            dataset=str(result.get("dataset") or ""),
            download_urls=tuple(str(u) for u in urls if isinstance(u, str) and u),
            status_message=str(result.get("statusMessage") or ""),
            dataset_config=result.get("datasetConfig") or {},
        )


def _where(url: str) -> str:
    """A URL fit for a message or log line: scheme, host and path, never the query (signatures)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path


class DatasetApiClient:
    """Submit, list, read and download against one dataset API as one channel."""

    def __init__(
        self,
        base_url: str,
        token: str,
        channel: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url:
            raise RemoteServiceError("no dataset API is configured (EXHAUST_TPD_API_URL)", transient=False)
        if not channel:
            raise RemoteServiceError("no channel is configured for the dataset API (EXHAUST_TPD_CHANNEL)",
                                     transient=False)  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.channel = channel
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        headers = {"Accept": "application/json", "X-Channel-ID": channel}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._api = httpx.Client(timeout=timeout, headers=headers)
        self._files = httpx.Client(timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._api.close()
        self._files.close()

    def __enter__(self) -> DatasetApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- the calls --------------------------------------------------------------------------
    def submit(
        self,
        *,
        tag: str,
        dataset: str,
        dataset_config: Mapping[str, Any],
        encryption_key: str | None = None,
        requested_by: str | None = None,
    ) -> RemoteJob:
        request: dict[str, Any] = {"tag": tag, "dataset": dataset, "datasetConfig": dict(dataset_config)}
        if encryption_key:
            request["encryptionKey"] = encryption_key
        if requested_by:
            request["requestedBy"] = requested_by
        body = {
            "id": "ekstep.analytics.dataset.request.submit",
            "ver": "1.0",
            "params": {},
            "request": request,
        }
        result = self._call("POST", f"{API_PREFIX}/submit", json=body)
        return RemoteJob.from_result(result)

    def list(self, tag: str, limit: int = 100) -> list[RemoteJob]:
        result = self._call("GET", f"{API_PREFIX}/list/{quote(tag, safe='')}", params={"limit": str(limit)})
        jobs = result.get("jobs") or []
        return [RemoteJob.from_result(job) for job in jobs if isinstance(job, Mapping)]

    def read(self, tag: str, request_id: str) -> RemoteJob | None:
        """The request, or None when the API does not know it (Sunbird answers 200 'failed' then)."""
        result = self._call(
            "GET", f"{API_PREFIX}/read/{quote(tag, safe='')}", params={"requestId": request_id}, soft=True
        )
        return RemoteJob.from_result(result) if result else None

    def download(self, url: str, target: Path) -> int:
        """Fetch a signed link into `target` (streamed, written beside it then moved); returns bytes."""
        absolute = urljoin(self.base_url + "/", url)
        partial = target.with_name(f".{target.name}.part")
        for attempt in range(self.retries + 1):
            try:
                with self._files.stream("GET", absolute) as response:
                    if response.status_code in (401, 403):
                        raise LinkExpired()
                    if response.status_code == 404:
                        raise RemoteServiceError(
                            f"the file {_where(absolute)} no longer exists", transient=False
                        )
                    if response.status_code in RETRY_STATUS:
                        raise httpx.HTTPStatusError(
                            f"{response.status_code}", request=response.request, response=response
                        )
                    if response.status_code >= 400:
                        raise RemoteServiceError(
                            f"the download of {_where(absolute)} was refused ({response.status_code})",
                            transient=False,
                        )
                    size = 0
                    with partial.open("wb") as handle:
                        for chunk in response.iter_bytes(1 << 20):
                            handle.write(chunk)
                            size += len(chunk)
                partial.replace(target)
                return size
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                partial.unlink(missing_ok=True)
                if attempt == self.retries:
                    raise RemoteServiceError(
                        f"the download of {_where(absolute)} failed after {attempt + 1} attempts ({_reason(exc)})",
                        transient=True,
                    ) from None
                self._wait(attempt, f"download {_where(absolute)}", exc)
            finally:
                partial.unlink(missing_ok=True)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- plumbing ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, soft: bool = False, **kwargs: Any) -> dict:
        url = self.base_url + path
        for attempt in range(self.retries + 1):
            try:
                response = self._api.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise RemoteServiceError(
                        f"the dataset API at {_where(url)} did not answer after {attempt + 1} attempts "
                        f"({_reason(exc)})",
                        transient=True,
                    ) from None
                self._wait(attempt, f"{method} {_where(url)}", exc)
                continue
            if response.status_code in RETRY_STATUS:
                if attempt == self.retries:
                    raise RemoteServiceError(
                        f"the dataset API at {_where(url)} answered {response.status_code} "
                        f"{attempt + 1} times: {_errmsg(response)}",
                        transient=True,
                    )
                self._wait(attempt, f"{method} {_where(url)}", response.status_code)
                continue
            return self._result(response, url, soft)
        raise AssertionError("unreachable")  # pragma: no cover

    def _result(self, response: httpx.Response, url: str, soft: bool) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise RemoteServiceError(
                f"the dataset API refused {_where(url)} ({response.status_code}): {_errmsg(response)}",
                transient=False,
            )
        if not isinstance(body, dict):
            raise RemoteServiceError(f"the dataset API at {_where(url)} did not answer JSON", transient=True)
        found = body.get("params")
        params: dict = found if isinstance(found, dict) else {}
        if str(params.get("status", "successful")).lower() == "failed":
            if soft:
                return {}
            raise RemoteServiceError(f"the dataset API refused {_where(url)}: {_errmsg(response)}",
                                     transient=False)  # fmt: skip
        result = body.get("result")
        return result if isinstance(result, dict) else {}

    def _wait(self, attempt: int, what: str, reason: object) -> None:
        delay = self.backoff * 2**attempt
        log.warning("%s: %s; retrying in %.1f s", what, _reason(reason), delay)
        self._sleep(delay)


def _reason(reason: object) -> str:
    if isinstance(reason, httpx.HTTPStatusError):
        return f"HTTP {reason.response.status_code}"
    if isinstance(reason, BaseException):
        return type(reason).__name__
    return f"HTTP {reason}"


def _errmsg(response: httpx.Response) -> str:
    """Sunbird's `params.errmsg`, else a short note (never the body of an unknown server)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    params = body.get("params") if isinstance(body, dict) else None
    message = params.get("errmsg") if isinstance(params, dict) else None
    return str(message)[:200] if message else f"HTTP {response.status_code}"
