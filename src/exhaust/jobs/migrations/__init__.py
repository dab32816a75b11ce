"""Alembic migrations of the job store, run from the installed package (`exhaust.jobs:migrations`)."""

from __future__ import annotations

from alembic import context


def job_table_name() -> str:
    """The job table these migrations act on (Sunbird deployments call it `<env>_job_request`)."""
    return str(context.config.attributes.get("job_table", "job_request"))
