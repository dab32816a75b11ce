"""Migration 0003: the attempt count moves to `attempts`; `iteration` takes Sunbird's failed-run meaning."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from exhaust.jobs import migrate


def test_revision_0003_follows_0002_on_a_single_line_of_migrations() -> None:
    scripts = ScriptDirectory.from_config(migrate._config("job_request"))
    assert scripts.get_revision("0003").down_revision == "0002"
    assert len(migrate.head_revisions()) == 1  # one head: every later migration builds on 0003


def test_rows_written_before_0003_are_converted(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    config = migrate._config("job_request")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.exec_driver_sql(
            "INSERT INTO job_request (tag, request_id, job_id, status, iteration, dt_job_started) VALUES "
            "('a:c', 'OK1', 'progress-exhaust', 'SUCCESS', 1, '2026-01-01 00:00:00'),"  # first run succeeded
            "('b:c', 'OK2', 'progress-exhaust', 'SUCCESS', 3, '2026-01-01 00:00:00'),"  # third run succeeded
            "('c:c', 'BAD', 'progress-exhaust', 'FAILED', 2, '2026-01-01 00:00:00'),"  # both runs failed
            "('d:c', 'SB1', 'progress-exhaust', 'SUCCESS', 1, NULL),"  # written by Sunbird: already its meaning
            "('e:c', 'NEW', 'progress-exhaust', 'SUBMITTED', 0, NULL)"
        )
    assert migrate.upgrade(engine, "job_request")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT request_id, iteration, attempts FROM job_request ORDER BY tag"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("OK1", 0, 1),
        ("OK2", 2, 3),
        ("BAD", 2, 2),
        ("SB1", 1, 0),
        ("NEW", 0, 0),
    ]
