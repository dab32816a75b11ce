"""A stand-in Sunbird dataset API on loopback (a real HTTP server) that misbehaves on request.

It answers submit, list and read with Sunbird's envelope and serves one zip per batch at
`/files/<batchId>_progress_<yyyyMMdd>.zip?sig=<n>`. Faults: `fail_next[path_kind] = [503, …]` answers
those statuses first; a batch in `expired` refuses (403) the links of the first read; a batch in
`no_file` gets no link; `files[batch]` holds each zip's bytes (made with any key); `status_sequence`
is what `list` says the request is, one entry per call (the last repeats).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Scenario:
    files: dict[str, bytes] = field(default_factory=dict)
    no_file: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    fail_next: dict[str, list[int]] = field(default_factory=dict)
    status_sequence: list[str] = field(default_factory=lambda: ["SUBMITTED", "SUCCESS"])
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    submitted: list[dict] = field(default_factory=list)
    reads: int = 0


class FakeDatasetApi:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDatasetApi:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"api": self})


class _Handler(BaseHTTPRequestHandler):
    """The fake API's routes; `api` is set on a subclass per server (`FakeDatasetApi._handler`)."""

    api: FakeDatasetApi

    def log_message(self, *_args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, kind: str) -> bool:
        with self.api._lock:
            queue = self.api.scenario.fail_next.get(kind) or []
            status = queue.pop(0) if queue else None
        if status is None:
            return False
        self._send(status, {"params": {"status": "failed", "errmsg": "Service Unavailable"}})
        return True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.api.scenario.calls.append(("POST", self.path, dict(self.headers)))
        if self._fault("submit"):
            return
        request = body["request"]
        self.api.scenario.submitted.append(request)
        self._send(200, envelope(job(request["tag"], self.headers["X-Channel-ID"], "SUBMITTED", [])))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.api.scenario.calls.append(("GET", parts.path, dict(self.headers)))
        if parts.path.startswith("/files/"):
            self._file(parts)
            return
        tag = parts.path.rsplit("/", 1)[1]
        channel = self.headers.get("X-Channel-ID", "")
        if "/request/list/" in parts.path:
            self._list(tag, channel)
        else:
            self._read(tag, channel)

    def _list(self, tag: str, channel: str) -> None:
        if self._fault("list"):
            return
        with self.api._lock:
            sequence = self.api.scenario.status_sequence
            status = sequence.pop(0) if len(sequence) > 1 else sequence[0]
        self._send(200, envelope({"count": 1, "jobs": [job(tag, channel, status, [])]}))

    def _read(self, tag: str, channel: str) -> None:
        if self._fault("read"):
            return
        with self.api._lock:
            self.api.scenario.reads += 1
            sig = self.api.scenario.reads
        requested = self.api.scenario.submitted[-1]["datasetConfig"]["batchFilter"]
        urls = [
            f"/files/{b}_progress_20261201.zip?sig={sig}"
            for b in requested
            if b not in self.api.scenario.no_file
        ]
        self._send(200, envelope(job(tag, channel, "SUCCESS", urls)))

    def _file(self, parts: Any) -> None:
        name = parts.path.rsplit("/", 1)[1]
        batch = name.split("_", 1)[0]
        sig = int(parse_qs(parts.query).get("sig", ["0"])[0])
        if self.headers.get("Authorization"):
            self._send(400, b"a signed link must not carry the bearer token", "text/plain")
        elif batch in self.api.scenario.expired and sig <= 1:
            self._send(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                       "application/xml")  # fmt: skip
        elif self._fault("file"):
            return
        elif batch in self.api.scenario.files:
            self._send(200, self.api.scenario.files[batch], "application/zip")
        else:
            self._send(404, b"missing", "text/plain")


def job(tag: str, channel: str, status: str, urls: list[str]) -> dict:
    return {
        "requestId": "REQ-" + tag.upper(),
        "tag": f"{tag}:{channel}",
        "dataset": "progress-exhaust",
        "status": status,
        "downloadUrls": urls,
        "statusMessage": "",
    }


def envelope(result: Any) -> dict:
    return {
        "id": "ekstep.analytics.dataset.request.info",
        "ver": "1.0",
        "params": {"status": "successful"},
        "responseCode": "OK",
        "result": result,
    }
