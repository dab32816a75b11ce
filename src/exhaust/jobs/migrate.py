"""Bring the job store's schema to the newest revision (Alembic, run from the installed package)."""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from exhaust.jobs.db import is_postgres

SCRIPT_LOCATION = "exhaust.jobs:migrations"


def _config(table: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["job_table"] = table
    config.attributes["version_table"] = f"{table}_alembic_version"
    return config


def current_revisions(engine: Engine, table: str = "job_request") -> set[str]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": f"{table}_alembic_version"})
        return set(context.get_current_heads())


def head_revisions(table: str = "job_request") -> set[str]:
    return set(ScriptDirectory.from_config(_config(table)).get_heads())


def upgrade(engine: Engine, table: str = "job_request") -> bool:
    """Apply pending migrations; returns True when something ran.

    Several workers may start at once: on PostgreSQL an advisory lock lets one of them migrate while
    the others wait (then find nothing to do); on SQLite the write transaction does the same.
    """
    heads = head_revisions(table)
    if current_revisions(engine, table) == heads:
        return False
    config = _config(table)
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(zlib.crc32(f"exhaust:{table}".encode()))))
        context = MigrationContext.configure(conn, opts={"version_table": f"{table}_alembic_version"})
        if set(context.get_current_heads()) == heads:
            return False
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return True
