"""Build one report file: load a batch, compute the dataset's fields, apply the profile, write CSV."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pyarrow as pa

from exhaust.engine.backend import open_backend
from exhaust.engine.hierarchy import AssessmentRules
from exhaust.engine.inputs import BatchData, load_batch
from exhaust.engine.learners import learners
from exhaust.errors import BadInput
from exhaust.pii import decrypt_array
from exhaust.reports import registry
from exhaust.reports.csv_writer import write_csv_parts
from exhaust.reports.datasets import Fields, RequestContext
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
    described = registry.get(dataset)
    chosen = load_profile(profile, dataset, settings.profiles_dir)
    rules = AssessmentRules(
        settings.assessment_content_types,
        settings.assessment_object_types,
        settings.assessment_primary_categories,
    )
    clock = _Clock()
    data = load_batch(source, batch_id, rules)
    clock.lap("load")
    context = RequestContext(requested_channel, wanted_fields(chosen))
    kind = engine or settings.engine
    parts = [data]
    prepare = described.chunk_preparer()
    if prepare is not None and data.enrolments.num_rows > settings.report_chunk_learners:
        parts = prepare(data, source).user_chunks(settings.report_chunk_learners)
    headers: list[tuple[str, ...]] = []

    def tables() -> Iterator[pa.Table]:
        for part in parts:
            table, columns = _compute(part, source, dataset, chosen, context, kind, settings)
            headers.append(tuple(column.header for column in columns))
            yield table

    computed = tables()
    first = next(computed)  # computing the first part also gives the header row
    rows = write_csv_parts(
        itertools.chain([first], computed),
        output,
        headers[0],
        timestamp_format=chosen.timestamp_format,
        bom=settings.csv_bom,
    )
    clock.lap("compute and write")
    return ReportResult(
        dataset, chosen.name, batch_id, data.course_id, Path(output), rows, headers[0], clock.laps
    )


def _compute(
    data: BatchData,
    source: Source,
    dataset: str,
    profile: Profile,
    context: RequestContext,
    engine: str,
    settings: Settings,
) -> tuple[pa.Table, list[OutputColumn]]:
    """The report rows of `data` (a batch or part of one), in order, with their columns."""
    backend = open_backend(engine)
    try:
        lx = learners(backend, data)
        fields = registry.get(dataset).field_builder()(lx, source, context)
        columns = expand_columns(profile, fields)
        keys = {f"k{i}": fields.table[key] for i, key in enumerate(fields.order_by)}
        values = {f"c{i}": column.value for i, column in enumerate(columns)}
        expr = fields.table.select(**values, **keys).order_by(list(keys))
        table = backend.execute(expr).drop_columns(list(keys))
    finally:
        backend.close()
    if fields.encrypted:
        table = decrypt_columns(table, columns, fields.encrypted, settings.sunbird_encryption_key)
    return table, columns


class _Clock:
    """Wall time per phase, for benchmarks and job progress."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.start, 4)
        self.start = now
