"""What the TPD feed remembers, per request as cQube's `diksha_api_meta` does, and per batch file.

`diksha_api_meta` keeps cQube's columns (request id, tag, batch list, channel, request and process status,
files total / processed / emitted) plus the run it belongs to (a run asks for at most 20 batches per
request, so a longer emitted list makes several requests), its error and a short lease so that one process
at a time advances a run. `diksha_api_file` has one row per batch: its file, rows, counts and error.
"""

from __future__ import annotations

import sqlalchemy as sa

from exhaust.jobs.db import UTCDateTime

state_metadata = sa.MetaData()

# cqube_process_status values
WAITING, IN_PROGRESS, SUCCESS, PARTIAL, FAILURE = "SUBMITTED", "IN_PROGRESS", "SUCCESS", "PARTIAL", "FAILURE"
DONE = (SUCCESS, PARTIAL, FAILURE)
# diksha_api_file.status values
PENDING, RETRY, INGESTED, REJECTED, FAILED, NO_FILE = (
    "PENDING", "RETRY", "INGESTED", "REJECTED", "FAILED", "NO_FILE",
)  # fmt: skip
FILE_OPEN = (PENDING, RETRY)

diksha_api_meta = sa.Table(
    "diksha_api_meta",
    state_metadata,
    sa.Column("ff_uuid", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("request_id", sa.String(64)),
    sa.Column("tag", sa.String(100)),
    sa.Column("batch_id", sa.JSON),  # the requested batch ids
    sa.Column("channel_id", sa.String(100)),
    sa.Column("request_channel", sa.String(100)),
    sa.Column("dataset", sa.String(50)),
    sa.Column("request_status", sa.String(20)),
    sa.Column("cqube_process_status", sa.String(20), nullable=False),
    sa.Column("requested_on", UTCDateTime(), nullable=False),
    sa.Column("updated_on", UTCDateTime()),
    sa.Column("total_files", sa.Integer, nullable=False, default=0),
    sa.Column("files_processed", sa.Integer, nullable=False, default=0),
    sa.Column("files_emitted", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("summary", sa.JSON),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_expires_at", UTCDateTime()),
)

diksha_api_file = sa.Table(
    "diksha_api_file",
    state_metadata,
    sa.Column("ff_uuid", sa.String(64), primary_key=True),  # the request's diksha_api_meta row
    sa.Column("batch_id", sa.String(100), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("file_name", sa.Text),
    sa.Column("layout", sa.String(20)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("log_ff_uuid", sa.String(64)),  # its log_summary row
    sa.Column("processed_records", sa.BigInteger),
    sa.Column("total_records", sa.BigInteger),
    sa.Column("error_file", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("updated_on", UTCDateTime()),
)


def ensure_state_tables(engine: sa.Engine) -> None:
    try:
        state_metadata.create_all(engine, checkfirst=True)
    except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
        state_metadata.create_all(engine, checkfirst=True)  # created by another process meanwhile
