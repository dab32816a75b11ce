"""Fixtures shared by every test package: where the shared research and upstream fixtures live."""

from __future__ import annotations

import os
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
    raise RuntimeError("shared/ folder with peer-fixtures not found beside the checkout; set EXHAUST_SHARED_DIR")


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def sunbird_fixtures(shared: Path) -> Path:
    return shared / "peer-fixtures" / "sunbird-exhaust"
