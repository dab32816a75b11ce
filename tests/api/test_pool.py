"""The job store's PostgreSQL pool pings only connections that sat idle, and recovers from dropped ones.

The API reads the job table on every submit; a ping per checkout was a fifth of that read's cost, so the
pool pings a connection only after `PING_AFTER_IDLE_SECONDS` unused. These tests kill the server side of
a pooled connection (as a database restart would) and check what the next caller sees.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.jobs import db
from exhaust.settings import Settings


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    found = db.make_engine(db.database_url(Settings(db_url=pg_url)))
    yield found
    found.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pid: int) -> None:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def test_an_idle_connection_that_died_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = backend_pid(engine)
    terminate(pid)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    assert backend_pid(engine) != pid  # no error: the ping failed and the pool connected afresh


def test_a_recently_used_connection_is_not_pinged_and_a_dead_one_fails_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pid = backend_pid(engine)
    terminate(pid)
    with pytest.raises(sa.exc.OperationalError) as failed:
        backend_pid(engine)  # no ping: the statement meets the dead connection
    assert failed.value.connection_invalidated
    assert backend_pid(engine) != pid  # the pool was discarded; the next caller gets a new connection
