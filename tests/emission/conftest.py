"""Emission fixtures: a real `exhaust serve` over the embedded default (local areas, SQLite) and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exhaust.emission.tables import dispose_engines, open_cqube_engine
from exhaust.emission.tokens import Credentials
from exhaust.settings import Settings
from tests.api.live import LiveApi, start_server

SIGNING_SECRET = "emission-test-signing-secret"


def local_values(folder: Path, **extra: str) -> dict[str, str]:
    values = {
        "data_dir": str(folder / "data"),
        "db_url": f"sqlite:///{folder / 'jobs.sqlite3'}",
        "signing_secret": SIGNING_SECRET,
        "emission_max_upload_bytes": str(2 * 1024 * 1024),
    }
    values.update(extra)
    return values


@pytest.fixture(scope="session")
def local_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    folder = tmp_path_factory.mktemp("emission-local")
    server = start_server(local_values(folder), folder / "server.log")
    yield server
    server.stop()
    dispose_engines()


@pytest.fixture(scope="session")
def credentials(local_api: LiveApi) -> Credentials:
    return Credentials(open_cqube_engine(local_api.settings))


@pytest.fixture(scope="session")
def mock_data(shared: Path) -> Path:
    return shared / "peer-fixtures" / "cqube" / "mock_data"


def settings_of(values: dict[str, str]) -> Settings:
    return Settings(**values)
