"""TPD fixtures: a PostgreSQL schema of its own per test (cQube's table names are fixed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from exhaust.jobs.db import make_engine


@pytest.fixture
def cqube_url(pg_url: str) -> Iterator[str]:
    """`postgresql://…?options=-csearch_path=<fresh schema>`, dropped afterwards."""
    base = pg_url.split("?")[0]
    schema = f"tpd_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    yield f"{base}?options=-csearch_path%3D{schema}"
    from exhaust.emission.tables import dispose_engines
    from exhaust.jobs.service import dispose_all

    dispose_engines()
    dispose_all()
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()
