"""A real `exhaust serve` (Uvicorn in its own process) on a free loopback port, and what tests need around it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from exhaust.api.auth import TokenStore
from exhaust.jobs.service import open_store
from exhaust.jobs.store import JobStore
from exhaust.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveApi:
    """A running server, the settings it was started with, and direct access to its database."""

    url: str
    settings: Settings
    log_path: Path
    process: subprocess.Popen
    store: JobStore = field(init=False)
    tokens: TokenStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = open_store(self.settings)
        self.tokens = TokenStore(self.store.engine, self.settings.api_token_table)
        self.tokens.ensure_table()

    def token(self, channel: str, *roles: str, user: str | None = None) -> str:
        return self.tokens.create(channel=channel, roles=roles, user_id=user)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(values: dict[str, str], log_path: Path, workers: int = 1) -> LiveApi:
    """Start `serve()` with EXHAUST_* variables made of `values`; wait until /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update({f"EXHAUST_{name.upper()}": value for name, value in values.items()})
    env["PYTHONPATH"] = str(REPO / "src")
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from exhaust.api.cli import serve; serve('127.0.0.1', {port}, workers={workers})",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(log_path.parent),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exhaust serve exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"exhaust serve did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    return LiveApi(url=url, settings=Settings(**values), log_path=log_path, process=process)


def headers(token: str | None, channel: str | None = None, **extra: str) -> dict[str, str]:
    found = {"Content-Type": "application/json"}
    if token is not None:
        found["Authorization"] = f"Bearer {token}"
    if channel is not None:
        found["X-Channel-ID"] = channel
    found.update(extra)
    return found


def submit_body(tag: str, dataset: str = "progress-exhaust", config: dict | None = None, **extra) -> dict:
    request = {"tag": tag, "dataset": dataset, "datasetConfig": config if config is not None else {}}
    request.update(extra)
    return {
        "id": "ekstep.analytics.job.request.submit",
        "ver": "1.0",
        "params": {"msgid": "m"},
        "request": request,
    }
