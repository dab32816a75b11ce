"""API fixtures: a live server on PostgreSQL (own schema in `test`, dropped afterwards) and one on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.data import write_api_source
from tests.api.live import LiveApi, start_server

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"
SIGNING_SECRET = "api-test-signing-secret"


def server_values(folder: Path, db_url: str) -> dict[str, str]:
    return {
        "data_dir": str(folder / "data"),
        "db_url": db_url,
        "source": str(write_api_source(folder / "source")),
        "storage_url": str(folder / "storage"),
        "signing_secret": SIGNING_SECRET,
        "source_cache_seconds": "30",
        "retry_backoff_seconds": "0",
        "api_token_cache_seconds": "1",
    }


@pytest.fixture(scope="session")
def api(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """`exhaust serve` over PostgreSQL, shared by the session (tests use tags of their own)."""
    folder = tmp_path_factory.mktemp("api-pg")
    server = start_server(server_values(folder, pg_url), folder / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """`exhaust serve` over the embedded default (a SQLite file), one per test module."""
    folder = tmp_path_factory.mktemp("api-sqlite")
    server = start_server(
        server_values(folder, f"sqlite:///{folder / 'jobs.sqlite3'}"), folder / "server.log"
    )
    yield server
    server.stop()


@pytest.fixture
def client(api: LiveApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as found:
        yield found


@pytest.fixture
def tag() -> str:
    """A client tag no other test uses."""
    return f"do_course_a_{uuid.uuid4().hex[:10]}"
