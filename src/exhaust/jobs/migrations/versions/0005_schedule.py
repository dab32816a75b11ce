"""Add recurring requests: the schedule table and the scheduler's leader row.

Revision ID: 0005
Revises: 0003

A schedule is a cron expression (in the configured time zone) and what to request at each slot. The
leader row is how workers on SQLite agree on one scheduler at a time (PostgreSQL uses an advisory lock).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from exhaust.jobs.migrations import job_table_name

revision = "0005"
down_revision = "0003"

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    name = f"{job_table_name()}_schedule"
    if not inspector.has_table(name):
        op.create_table(
            name,
            sa.Column("schedule_id", sa.String(32), primary_key=True),
            sa.Column("dataset", sa.String(50), nullable=False),
            sa.Column("request_data", sa.JSON()),
            sa.Column("cron", sa.String(100), nullable=False),
            sa.Column("tag", sa.String(100), nullable=False),
            sa.Column("channel", sa.String(50), nullable=False),
            sa.Column("requested_by", sa.String(50)),
            sa.Column("encryption_key", sa.String(500)),
            sa.Column("created_at", TIMESTAMP),
            sa.Column("next_run_at", TIMESTAMP, nullable=False),
            sa.Column("last_slot_at", TIMESTAMP),
            sa.Column("last_run_at", TIMESTAMP),
            sa.Column("last_request_id", sa.String(50)),
            sa.Column("last_error", sa.String(300)),
            sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        )
        op.create_index(f"ix_{name}_due", name, ["next_run_at"])
    leader = f"{job_table_name()}_scheduler_leader"
    if not inspector.has_table(leader):
        op.create_table(
            leader,
            sa.Column("name", sa.String(50), primary_key=True),
            sa.Column("owner", sa.String(200)),
            sa.Column("expires_at", TIMESTAMP),
        )


def downgrade() -> None:
    op.drop_table(f"{job_table_name()}_scheduler_leader")
    op.drop_table(f"{job_table_name()}_schedule")
