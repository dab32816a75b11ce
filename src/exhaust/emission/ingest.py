"""Ingest one CSV (or Arrow table) of a named data source: check, upsert, count, keep the refused rows.

This is the public core the emission worker and the TPD feed share:

    engine = open_cqube_engine(settings)
    result = ingest_csv(engine, "school_mst", Path("school_mst.csv"), error_path=Path("errors.csv"))
    result.status, result.counts.processed_records, result.reason

The counts go to `log_summary` in the same transaction as the upsert, so a crash leaves neither.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.emission.load import upsert_rows
from exhaust.emission.spec import DataSource, get_source
from exhaust.emission.tables import log_summary
from exhaust.emission.validate import ERROR_SCHEMA, Checked, check_csv
from exhaust.errors import EmittedFileRejected
from exhaust.jobs.db import utcnow

OK, KO = "OK", "KO"


@dataclass
class IngestResult:
    """One file's outcome: status (OK / KO and why), cQube's counts and the refused rows."""

    ff_uuid: str
    filename: str
    data_source: str
    status: str
    reason: str | None
    counts: Checked
    started_at: datetime
    ended_at: datetime
    error_file: str | None = None
    emission_key: str | None = None
    input_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> pa.Table:
        return self.counts.errors

    def summary(self) -> dict[str, Any]:
        """cQube's log_summary JSON shape, plus status, reason and the error file's key."""
        c = self.counts
        return {
            "filename": self.filename,
            "ff_uuid": self.ff_uuid,
            "data_source": self.data_source,
            "total_records": c.total_records,
            "blank_lines": c.blank_lines,
            "duplicate_records": c.duplicate_records,
            "datatype_mismatch": c.datatype_mismatch,
            "records_with_null_value": dict(c.records_with_null_value),
            "count_of_null_rows": c.count_of_null_rows,
            "processed_records": c.processed_records if self.status == OK else 0,
            "status": self.status,
            "reason": self.reason,
            "error_file": self.error_file,
            "process_start_time": self.started_at.isoformat(),
            "process_end_time": self.ended_at.isoformat(),
        }


def check_file(
    source: str | DataSource,
    csv_path: Path,
    *,
    filename: str | None = None,
    ff_uuid: str | None = None,
    error_path: Path | None = None,
    error_file: str | None = None,
    emission_key: str | None = None,
    input_key: str | None = None,
) -> IngestResult:
    """Check `csv_path` against `source`'s spec (no database): the result `store_result` records.

    `error_path`, when given, receives the refused rows as CSV (`line,column,reason,value`, written
    to a temporary name and renamed); `error_file` is the key recorded for it. A file refused as a
    whole is status KO with its reason (and the error file has one line saying so); refused rows do
    not make a file KO.
    """
    data_source = get_source(source) if isinstance(source, str) else source
    started = utcnow()
    status, reason = OK, None
    try:
        counts = check_csv(Path(csv_path), data_source)
        if counts.total_records - counts.blank_lines <= 0:
            raise EmittedFileRejected("the file has no records")
    except EmittedFileRejected as exc:
        counts = Checked(data_source.name)
        status, reason = KO, exc.message
        # The error file explains a refused file too: its header line and why.
        counts.errors = pa.table(
            {"line": [1], "column": [""], "reason": [reason], "value": [None]}, schema=ERROR_SCHEMA
        )
    has_errors = counts.errors.num_rows > 0
    if error_path is not None and has_errors:
        write_error_file(counts.errors, error_path)
    return IngestResult(
        ff_uuid=ff_uuid or uuid.uuid4().hex,
        filename=filename or Path(csv_path).name,
        data_source=data_source.name,
        status=status,
        reason=reason,
        counts=counts,
        started_at=started,
        ended_at=started,
        error_file=error_file if has_errors else None,
        emission_key=emission_key,
        input_key=input_key,
    )


def store_result(conn: sa.Connection, result: IngestResult) -> None:
    """Upsert the clean rows and add the `log_summary` row, in `conn`'s transaction."""
    _store(conn, get_source(result.data_source), result)


def ingest_csv(
    target: Engine | sa.Connection, source: str | DataSource, csv_path: Path, **options: Any
) -> IngestResult:
    """Check `csv_path` against `source`'s spec, upsert the clean rows and record the counts.

    `target` is an engine (one transaction is opened and committed here) or a connection whose
    transaction the caller commits. Options as `check_file` (filename, ff_uuid, error_path,
    error_file, emission_key, input_key).
    """
    data_source = get_source(source) if isinstance(source, str) else source
    result = check_file(data_source, csv_path, **options)
    if isinstance(target, sa.Connection):
        _store(target, data_source, result)
    else:
        with target.begin() as conn:
            _store(conn, data_source, result)
    return result


def ingest_arrow(
    target: Engine | sa.Connection,
    source: str | DataSource,
    table: pa.Table,
    *,
    filename: str,
    **options: Any,
) -> IngestResult:
    """`ingest_csv` for rows already in memory: the table is written as the source's CSV first, so
    exactly the same checks and counts apply (column names as in the spec: raw or table names)."""
    data_source = get_source(source) if isinstance(source, str) else source
    with tempfile.TemporaryDirectory(prefix="exhaust-emission-") as work:
        path = Path(work) / filename
        text = table.select(table.column_names).cast(
            pa.schema([(name, pa.string()) for name in table.column_names])
        )
        pacsv.write_csv(text, path, pacsv.WriteOptions(delimiter=data_source.delimiter))
        return ingest_csv(target, data_source, path, filename=filename, **options)


def reject(conn: sa.Connection, data_source: str, filename: str, reason: str, **fields: Any) -> IngestResult:
    """Record a file refused before its CSV could be read (unknown data source, bad zip): KO."""
    now = utcnow()
    result = IngestResult(
        ff_uuid=fields.pop("ff_uuid", None) or uuid.uuid4().hex,
        filename=filename,
        data_source=data_source,
        status=KO,
        reason=reason,
        counts=Checked(data_source),
        started_at=now,
        ended_at=now,
        **fields,
    )
    _store(conn, None, result)
    return result


def _store(conn: sa.Connection, source: DataSource | None, result: IngestResult) -> None:
    if source is not None and result.status == OK and result.counts.rows is not None:
        upsert_rows(conn, source, result.counts.rows)
    result.ended_at = utcnow()
    row = result.summary()
    row.update(
        emission_key=result.emission_key,
        input_key=result.input_key,
        process_start_time=result.started_at,
        process_end_time=result.ended_at,
    )
    conn.execute(sa.insert(log_summary).values(**row))


def write_error_file(errors: pa.Table, path: Path) -> None:
    """The refused rows as CSV `line,column,reason,value`, never visible half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        pacsv.write_csv(errors.cast(ERROR_SCHEMA), partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def summaries(engine: Engine, limit: int = 100, data_source: str | None = None) -> list[dict[str, Any]]:
    """The newest `log_summary` rows (for `exhaust emission status` and the API)."""
    query = sa.select(log_summary).order_by(log_summary.c.process_start_time.desc()).limit(limit)
    if data_source:
        query = query.where(log_summary.c.data_source == data_source)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        for name in ("process_start_time", "process_end_time"):
            if row.get(name) is not None:
                row[name] = row[name].isoformat()
    return rows
