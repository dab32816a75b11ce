"""Keep the attempt count in a column of its own; `iteration` takes Sunbird's meaning (failed runs).

Revision ID: 0003
Revises: 0002

Sunbird's dashboards read `iteration` as the number of failed runs: 0 after a request that succeeded on
its first run, +1 for each failed run. Until this revision exhaust counted claims there. Rows exhaust
processed (`dt_job_started` set) are converted: their count moves to `attempts`, and a SUCCESS row's
`iteration` becomes its failed runs (attempts - 1). Rows Sunbird wrote keep their `iteration`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from exhaust.jobs.migrations import job_table_name

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    name = job_table_name()
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(name)}
    if "attempts" not in present:
        op.add_column(name, sa.Column("attempts", sa.Integer()))
    table = sa.table(
        name,
        sa.column("attempts", sa.Integer()),
        sa.column("iteration", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("dt_job_started", sa.DateTime(timezone=True)),
    )
    ours = table.c.dt_job_started.is_not(None)
    op.execute(
        table.update()
        .where(table.c.attempts.is_(None))
        .values(attempts=sa.case((ours, sa.func.coalesce(table.c.iteration, 0)), else_=0))
    )
    op.execute(
        table.update()
        .where(ours, table.c.status == "SUCCESS", sa.func.coalesce(table.c.iteration, 0) > 0)
        .values(iteration=table.c.iteration - 1)
    )


def downgrade() -> None:
    name = job_table_name()
    table = sa.table(name, sa.column("attempts", sa.Integer()), sa.column("iteration", sa.Integer()))
    op.execute(table.update().where(table.c.attempts.is_not(None)).values(iteration=table.c.attempts))
    op.drop_column(name, "attempts")
