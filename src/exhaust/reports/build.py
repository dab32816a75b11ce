"""Build one report file: load a batch, compute the dataset's fields, apply the profile, write CSV."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa

from exhaust.engine.backend import open_backend
from exhaust.engine.hierarchy import AssessmentRules
from exhaust.engine.inputs import load_batch
from exhaust.engine.learners import learners
from exhaust.errors import BadInput, EngineOutOfMemory
from exhaust.pii import decrypt_array
from exhaust.reports.csv_writer import write_csv_parts
from exhaust.reports.datasets import DATASETS, Fields, RequestContext
from exhaust.reports.profiles import Column, Profile, load_profile
from exhaust.settings import Settings, get_settings
from exhaust.sources.base import Source


@dataclass(frozen=True)
class ReportResult:
    """What was written."""

    dataset: str
    profile: str
    batch_id: str
    collection_id: str
    path: Path
    rows: int
    headers: tuple[str, ...]
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase: load, compute, write


@dataclass(frozen=True)
class OutputColumn:
    """One CSV column: its header, its expression, and the static field it shows (None in groups)."""

    header: str
    value: ibis.Value
    field: str | None = None


def expand_columns(profile: Profile, fields: Fields) -> list[OutputColumn]:
    """Every column of the profile, groups repeated per member in hierarchy order."""
    table = fields.table
    out: list[OutputColumn] = []
    for column in profile.columns:
        if isinstance(column, Column):
            if column.field not in table.columns:
                raise BadInput(f"profile {profile.name}: {profile.dataset} has no field {column.field!r}")
            value = table[column.field]
            if column.prefix:
                value = ibis.literal(column.prefix) + value.cast("string")
            out.append(OutputColumn(column.header, value, column.field))
            continue
        members = fields.groups.get(column.each, [])
        if column.order == "id":
            members = sorted(members, key=lambda member: member.id)
        for member in members:
            for inner in column.columns:
                if inner.field not in member.fields:
                    raise BadInput(
                        f"profile {profile.name}: group {column.each} has no field {inner.field!r}"
                    )
                out.append(OutputColumn(inner.header.replace("{id}", member.id), member.fields[inner.field]))
    return out


def wanted_fields(profile: Profile) -> frozenset[str]:
    """Static field names and `group.field` names the profile shows."""
    names: set[str] = set()
    for column in profile.columns:
        if isinstance(column, Column):
            names.add(column.field)
        else:
            names.update(f"{column.each}.{inner.field}" for inner in column.columns)
    return frozenset(names)


def decrypt_columns(
    table: pa.Table, columns: list[OutputColumn], encrypted: tuple[str, ...], salt: str
) -> pa.Table:
    """Decrypt Sunbird-encrypted PII columns (already blank where consent is missing)."""
    for index, column in enumerate(columns):
        if column.field in encrypted:
            table = table.set_column(index, table.field(index), decrypt_array(table.column(index), salt))
    return table


def build_report(
    source: Source,
    dataset: str,
    batch_id: str,
    output: Path,
    *,
    requested_channel: str | None = None,
    profile: str | None = None,
    engine: str | None = None,
    settings: Settings | None = None,
) -> ReportResult:
    """Write `dataset` for `batch_id` as CSV to `output` (atomically) and say what was written."""
    settings = settings or get_settings()
    if dataset not in DATASETS:
        raise BadInput(f"unknown report {dataset!r} (known: {', '.join(sorted(DATASETS))})")
    chosen = load_profile(profile, dataset, settings.profiles_dir)
    rules = AssessmentRules(
        settings.assessment_content_types,
        settings.assessment_object_types,
        settings.assessment_primary_categories,
    )
    clock = _Clock()
    context = RequestContext(requested_channel, wanted_fields(chosen))
    backend = open_backend(engine or settings.engine, settings)
    try:
        data = load_batch(source, batch_id, backend, rules)
        clock.lap("load")
        lx = learners(backend, data)
        fields = DATASETS[dataset](lx, source, context)
        columns = expand_columns(chosen, fields)
        headers = tuple(column.header for column in columns)
        keys = {f"k{i}": fields.table[key] for i, key in enumerate(fields.order_by)}
        values = {f"c{i}": column.value for i, column in enumerate(columns)}
        expr = fields.table.select(**values, **keys).order_by(list(keys))
        # Streamed: the engine hands over record batches in order, the writer appends each.
        stream = backend.execute_batches(expr)

        def parts() -> Iterator[pa.Table]:
            for batch in stream:
                table = pa.Table.from_batches([batch]).drop_columns(list(keys))
                if fields.encrypted:
                    table = decrypt_columns(table, columns, fields.encrypted, settings.sunbird_encryption_key)
                yield table

        rows = write_csv_parts(
            parts(), output, headers, timestamp_format=chosen.timestamp_format, bom=settings.csv_bom
        )
    except duckdb.OutOfMemoryException:
        raise EngineOutOfMemory(
            f"the report needs more memory than EXHAUST_DUCKDB_MEMORY_LIMIT ({settings.duckdb_memory_limit}) "
            "allows: raise it or lower EXHAUST_DUCKDB_THREADS"
        ) from None
    finally:
        backend.close()
    clock.lap("compute and write")
    return ReportResult(
        dataset, chosen.name, batch_id, data.course_id, Path(output), rows, headers, clock.laps
    )


class _Clock:
    """Wall time per phase, for benchmarks and job progress."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.start, 4)
        self.start = now
