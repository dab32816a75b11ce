"""Dashboard fixtures: a real `exhaust serve` and `exhaust worker` over PostgreSQL, and one Chromium.

The browser is Debian's `chromium` driven by Playwright (no browser download); one browser serves the
session and each test gets a fresh context (its own cookies).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.live import REPO, LiveApi, start_server
from tests.dashboard.data import write_dashboard_source

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def dashboard_values(folder: Path, db_url: str) -> dict[str, str]:
    return {
        "data_dir": str(folder / "data"),
        "db_url": db_url,
        "source": str(write_dashboard_source(folder / "source")),
        "storage_url": str(folder / "storage"),
        "signing_secret": "dashboard-test-signing-secret",
        "source_cache_seconds": "30",
        "dashboard_cache_seconds": "30",
        "retry_backoff_seconds": "0",
        "poll_seconds": "0.2",
        "api_token_cache_seconds": "1",
    }


@pytest.fixture(scope="session")
def dash_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dashboard")


@pytest.fixture(scope="session")
def dash_values(dash_folder: Path, pg_url: str) -> dict[str, str]:
    return dashboard_values(dash_folder, pg_url)


@pytest.fixture(scope="session")
def dash(dash_folder: Path, dash_values: dict[str, str]) -> Iterator[LiveApi]:
    """`exhaust serve` with the dashboard, over a PostgreSQL schema of its own."""
    server = start_server(dash_values, dash_folder / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker(dash: LiveApi, dash_folder: Path, dash_values: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`exhaust worker` on the server's job table, building the real reports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update({f"EXHAUST_{k.upper()}": v for k, v in dash_values.items()})
    env["PYTHONPATH"] = str(REPO / "src")
    log = (dash_folder / "worker.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "exhaust", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (the CI script does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, dash: LiveApi) -> Iterator[object]:
    context = browser.new_context(base_url=dash.url, accept_downloads=True, locale="en-GB")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()
