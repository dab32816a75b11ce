"""Job store fixtures: a SQLite file and the real PostgreSQL (one schema per session, one table per test)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from exhaust.jobs.service import open_store
from exhaust.jobs.store import JobStore
from exhaust.outputs.storage import open_storage
from exhaust.settings import Settings
from tests.jobs.helpers import make_settings, make_source


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def table_name() -> str:
    return f"jr_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, table_name: str, source_dir: Path) -> Settings:
    return make_settings(tmp_path, db_url, table_name)


@pytest.fixture
def store(settings: Settings) -> JobStore:
    return open_store(settings)


@pytest.fixture
def storage(settings: Settings):
    return open_storage(settings)
