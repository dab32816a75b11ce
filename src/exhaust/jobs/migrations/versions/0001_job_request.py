"""Create the job table, or adopt an existing Sunbird `job_request` table.

Revision ID: 0001
Revises:

Sunbird's 15 columns (+ `batch_number`, `processed_batches`) keep their names and meaning. Adopting an
existing table adds the queue columns, turns its timestamps into `timestamptz` (Sunbird's are written in
UTC) and widens `err_message` (300) and `encryption_key` (500) where they are shorter. Its rows stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from exhaust.jobs.migrations import job_table_name

revision = "0001"
down_revision = None

TIMESTAMP = sa.DateTime(timezone=True)
URLS = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
TIMESTAMPS = ("dt_job_submitted", "dt_file_created", "dt_job_completed")
MIN_LENGTH = {"err_message": 300, "encryption_key": 500}


def columns() -> list[sa.Column]:
    """Every column, as of this revision (frozen here on purpose: later code may change)."""
    return [
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("request_id", sa.String(50), nullable=False),
        sa.Column("job_id", sa.String(50)),
        sa.Column("status", sa.String(50)),
        sa.Column("request_data", sa.JSON()),
        sa.Column("requested_by", sa.String(50)),
        sa.Column("requested_channel", sa.String(50)),
        sa.Column("dt_job_submitted", TIMESTAMP),
        sa.Column("download_urls", URLS),
        sa.Column("dt_file_created", TIMESTAMP),
        sa.Column("dt_job_completed", TIMESTAMP),
        sa.Column("execution_time", sa.BigInteger()),
        sa.Column("err_message", sa.String(300)),
        sa.Column("iteration", sa.Integer()),
        sa.Column("encryption_key", sa.String(500)),
        sa.Column("batch_number", sa.Integer()),
        sa.Column("processed_batches", sa.Text()),
        # the queue
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", TIMESTAMP),
        sa.Column("next_attempt_at", TIMESTAMP),
        sa.Column("dt_job_started", TIMESTAMP),
        sa.Column("updated_at", TIMESTAMP),
        sa.Column("progress", sa.Integer()),
        sa.Column("phase", sa.String(200)),
    ]


def upgrade() -> None:
    name = job_table_name()
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table(name):
        op.create_table(name, *columns(), sa.PrimaryKeyConstraint("tag", "request_id", name=f"{name}_pkey"))
    else:
        _adopt(name, inspector, bind.dialect.name == "postgresql")
    existing = {index["name"] for index in sa.inspect(bind).get_indexes(name)}
    for suffix, cols in {
        "due": ["status", "next_attempt_at"],
        "lease": ["status", "lease_expires_at"],
        "tag": ["tag", "dt_job_submitted"],
    }.items():
        if f"ix_{name}_{suffix}" not in existing:
            op.create_index(f"ix_{name}_{suffix}", name, cols)


def _adopt(name: str, inspector: sa.Inspector, postgres: bool) -> None:
    """Bring an existing (Sunbird) table up to this revision without losing rows."""
    present = {column["name"]: column for column in inspector.get_columns(name)}
    for column in columns():
        if column.name not in present:
            op.add_column(name, column)
    if not postgres:
        return
    table = op.get_context().impl.dialect.identifier_preparer.quote(name)
    for column_name in TIMESTAMPS:
        found = present.get(column_name)
        if found is not None and not getattr(found["type"], "timezone", False):
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column_name} TYPE timestamptz "
                f"USING {column_name} AT TIME ZONE 'UTC'"
            )
    for column_name, length in MIN_LENGTH.items():
        found = present.get(column_name)
        current = getattr(found["type"], "length", None) if found is not None else None
        if current is not None and current < length:
            op.alter_column(name, column_name, type_=sa.String(length), existing_nullable=True)


def downgrade() -> None:
    name = job_table_name()
    for suffix in ("due", "lease", "tag"):
        op.drop_index(f"ix_{name}_{suffix}", table_name=name)
    for column in (
        "lease_owner",
        "lease_expires_at",
        "next_attempt_at",
        "dt_job_started",
        "updated_at",
        "progress",
        "phase",
    ):
        op.drop_column(name, column)
