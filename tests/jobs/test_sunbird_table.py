"""The migrations adopt an existing Sunbird `job_request` table on PostgreSQL, rows included."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from exhaust.jobs import migrate
from exhaust.jobs.service import open_store
from exhaust.jobs.store import SUCCESS
from exhaust.jobs.worker import Worker
from exhaust.outputs.storage import open_storage
from tests.jobs.helpers import make_settings, make_source, source_opener, stand_in_builder

SUNBIRD_DDL = """
CREATE TABLE {t} (
    tag VARCHAR(100), request_id VARCHAR(50), job_id VARCHAR(50), status VARCHAR(50), request_data json,
    requested_by VARCHAR(50), requested_channel VARCHAR(50), dt_job_submitted TIMESTAMP, download_urls text[],
    dt_file_created TIMESTAMP, dt_job_completed TIMESTAMP, execution_time INTEGER, err_message VARCHAR(100),
    iteration INTEGER, encryption_key VARCHAR(50), PRIMARY KEY (tag, request_id)
);
ALTER TABLE {t} ADD COLUMN IF NOT EXISTS batch_number INTEGER;
ALTER TABLE {t} ADD COLUMN IF NOT EXISTS processed_batches text;
INSERT INTO {t} (tag, request_id, job_id, status, request_data, requested_by, requested_channel,
                 dt_job_submitted, iteration, encryption_key)
VALUES ('do_c1_b1:ch-1', 'AB12', 'progress-exhaust', 'SUBMITTED', '{{"batchId": "b1"}}', 'u1', 'ch-1',
        '2024-03-01 10:00:00', 0, 'pw'),
       ('d:ch-1', 'CD34', 'druid-dataset', 'SUBMITTED', '{{"type": "x"}}', 'u1', 'ch-1', '2024-03-01 10:00:00', 0, NULL),
       ('old:ch-1', 'EF56', 'progress-exhaust', 'SUCCESS', '{{"batchId": "b1"}}', 'u1', 'ch-1', '2024-02-01 10:00:00',
        1, NULL);
UPDATE {t} SET download_urls = ARRAY['https://acct.blob.core.windows.net/reports/progress-exhaust/EF56/b1.zip']
WHERE request_id = 'EF56';
"""


def test_existing_sunbird_table_is_upgraded_and_served(tmp_path: Path, pg_url: str, table_name: str) -> None:
    settings = make_settings(tmp_path, pg_url, table_name)
    make_source(tmp_path / "source")
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.exec_driver_sql(SUNBIRD_DDL.format(t=table_name))
    store = open_store(settings)
    assert migrate.current_revisions(store.engine, table_name) == migrate.head_revisions()

    columns = {c["name"]: c for c in sa.inspect(store.engine).get_columns(table_name)}
    assert {"lease_owner", "lease_expires_at", "next_attempt_at", "progress", "phase"} <= set(columns)
    assert columns["dt_job_submitted"]["type"].timezone
    assert columns["err_message"]["type"].length == 300 and columns["encryption_key"]["type"].length == 500

    old = store.get("AB12")
    assert old.dt_job_submitted.isoformat() == "2024-03-01T10:00:00+00:00"  # naive UTC became aware UTC
    legacy = store.get("EF56")
    assert legacy.download_urls == ["https://acct.blob.core.windows.net/reports/progress-exhaust/EF56/b1.zip"]

    worker = Worker(store, open_storage(settings), settings, source=source_opener(tmp_path / "source"),
                    builder=stand_in_builder())  # fmt: skip
    assert worker.run(once=True) == 1  # the Sunbird request; never the druid one
    done = store.get("AB12")
    assert done.status == SUCCESS and done.download_urls[0].startswith("progress-exhaust/AB12/b1_progress_")
    assert store.get("CD34").status == "SUBMITTED"
