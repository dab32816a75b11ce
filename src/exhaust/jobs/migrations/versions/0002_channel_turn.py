"""Add the channel turn table: when each channel last had a job claimed (fair claiming).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from exhaust.jobs.migrations import job_table_name

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    name = f"{job_table_name()}_channel_turn"
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(
            name,
            sa.Column("channel", sa.String(100), primary_key=True),
            sa.Column("last_claimed_at", sa.DateTime(timezone=True)),
        )


def downgrade() -> None:
    op.drop_table(f"{job_table_name()}_channel_turn")
