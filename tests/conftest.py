"""Fixtures shared by every test package: where the shared research and upstream fixtures live."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The `shared/` folder laid beside the checkout (override with EXHAUST_SHARED_DIR)."""
    configured = os.environ.get("EXHAUST_SHARED_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [REPO.parent / "shared", REPO / "shared"]
    for candidate in candidates:
        if (candidate / "peer-fixtures").is_dir():
            return candidate
    raise RuntimeError(
        "shared/ folder with peer-fixtures not found beside the checkout; set EXHAUST_SHARED_DIR"
    )


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def sunbird_fixtures(shared: Path) -> Path:
    return shared / "peer-fixtures" / "sunbird-exhaust"


PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a schema of its own in the shared `test` database, dropped afterwards."""
    import psycopg

    from exhaust.jobs.service import dispose_all

    schema = f"exhaust_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    dispose_all()
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
