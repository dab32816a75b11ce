"""Build one report file: load a batch, compute the dataset's fields, apply the profile, write CSV."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis
import ibis.expr.operations as ops
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.engine.backend import Backend, DuckDBBackend, open_backend
from exhaust.engine.hierarchy import AssessmentRules
from exhaust.engine.inputs import load_batch
from exhaust.engine.learners import learners
from exhaust.errors import BadInput, EncryptedValues, EngineOutOfMemory
from exhaust.pii import decrypt_array, looks_encrypted
from exhaust.reports import registry
from exhaust.reports.csv_writer import copy_query_csv, write_csv_parts
from exhaust.reports.datasets import Fields, RequestContext
from exhaust.reports.profiles import Column, Profile, ValueFormat, load_profile
from exhaust.reports.refusals import NEEDS_HIERARCHY, check_collection
from exhaust.reports.value_formats import format_column
from exhaust.settings import Settings, get_settings
from exhaust.sources.base import Source
from exhaust.sources.collections import collection_records, collection_tree


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
    format: ValueFormat = ValueFormat()  # noqa: RUF009 - frozen, so one shared default is safe


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
            out.append(OutputColumn(column.header, value, column.field, column.format.over(profile.formats)))
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
                out.append(
                    OutputColumn(
                        inner.header.replace("{id}", member.id),
                        member.fields[inner.field],
                        format=inner.format.over(profile.formats),
                    )
                )
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
    """Decrypt Sunbird-encrypted PII columns (already blank where consent is missing).

    A value still encrypted afterwards (no salt configured, or the wrong one) fails the report: ciphertext
    in Email ID is useless to the reader and hides that the deployment is misconfigured.
    """
    for index, column in enumerate(columns):
        if column.field in encrypted:
            clear = decrypt_array(table.column(index), salt)
            # A misconfigured salt leaves every value encrypted: the first rows tell, before a full pass.
            if (
                pc.any(looks_encrypted(clear.slice(0, 1000))).as_py()
                or pc.any(looks_encrypted(clear)).as_py()
            ):
                raise EncryptedValues(column.header, bool(salt))
            table = table.set_column(index, table.field(index), clear)
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
    batch = source.batch(batch_id)
    record = collection_records(source, [batch["courseid"]]).get(batch["courseid"])
    check_collection(dataset, record)
    tree = collection_tree(source, batch["courseid"], record, required=dataset in NEEDS_HIERARCHY)
    context = RequestContext(requested_channel, wanted_fields(chosen))
    backend = open_backend(engine or settings.engine, settings)
    try:
        data = load_batch(source, batch_id, backend, rules, tree=tree)
        clock.lap("load")
        lx = learners(backend, data)
        fields = described.field_builder()(lx, source, context)
        columns = expand_columns(chosen, fields)
        headers = tuple(column.header for column in columns)
        values = {f"c{i}": column.value for i, column in enumerate(columns)}
        rows = _row_filter(chosen, fields)
        # Columns equal on every row (collection, batch) are added to each batch here, not carried
        # through the engine's sort: in a response exhaust they were a quarter of the sorted bytes.
        constants = _constants(backend, values)
        varying = {name: value for name, value in values.items() if name not in constants}
        order, keys = _sort_keys(fields, varying)
        expr = (fields.table if rows is None else fields.table.filter(rows)).select(**varying, **keys)
        if _direct(backend, columns, fields, constants):
            assert isinstance(backend, DuckDBBackend)
            written = _copy_direct(
                backend, expr, order, list(values), constants, (output, headers), chosen, settings
            )
            clock.lap("compute and write")
            return ReportResult(
                dataset, chosen.name, batch_id, data.course_id, Path(output), written, headers, clock.laps
            )
        # Streamed: the engine hands over record batches in order, the writer appends each. The rows are
        # kept first (`Backend.stage`), then sorted on their own: a sort fed by a hash join does not
        # spill together with the join's table under a low memory limit.
        stream = backend.execute_batches(backend.stage("report", expr).order_by(order))

        def parts() -> Iterator[pa.Table]:
            for batch in stream:
                table = pa.Table.from_batches([batch]).drop_columns(list(keys))
                table = _formatted(_with_constants(table, list(values), constants), columns)
                if fields.encrypted:
                    table = decrypt_columns(table, columns, fields.encrypted, settings.sunbird_encryption_key)
                yield table

        written = write_csv_parts(
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
        dataset, chosen.name, batch_id, data.course_id, Path(output), written, headers, clock.laps
    )


def _row_filter(profile: Profile, fields: Fields) -> ibis.Value | None:
    """The profile's `rows` field as a filter (only rows where it is true), after checking it exists."""
    if profile.rows is None:
        return None
    if profile.rows not in fields.table.columns:
        raise BadInput(
            f"profile {profile.name}: {profile.dataset} has no field {profile.rows!r} to select rows"
        )
    value = fields.table[profile.rows]
    if not value.type().is_boolean():
        raise BadInput(f"profile {profile.name}: rows = {profile.rows!r} must name a true/false field")
    return value.fill_null(False)


def _direct(
    backend: Backend, columns: list[OutputColumn], fields: Fields, constants: dict[str, pa.Scalar]
) -> bool:
    """DuckDB writes the CSV itself: the dataset asks for it and no column needs Python (value formats,
    decryption)."""
    return (
        isinstance(backend, DuckDBBackend)
        and fields.engine_writes
        and not fields.encrypted
        and all(column.format == ValueFormat() for column in columns)
        and all(pa.types.is_string(value.type) for value in constants.values())
    )


def _copy_direct(
    backend: DuckDBBackend,
    expr: ibis.Table,
    order: list[str],
    names: list[str],
    constants: dict[str, pa.Scalar],
    target: tuple[Path, tuple[str, ...]],
    profile: Profile,
    settings: Settings,
) -> int:
    """One DuckDB `COPY` of the query, sorted by `order` (constants as literals)."""
    schema = expr.schema().to_pyarrow()
    cells: list[tuple[str, pa.DataType]] = []
    for name in names:
        if name in constants:
            text = constants[name].as_py()
            literal = "CAST(NULL AS VARCHAR)" if text is None else "'" + text.replace("'", "''") + "'"
            cells.append((literal, pa.string()))
        else:
            cells.append(('report."' + name + '"', schema.field(name).type))
    return copy_query_csv(
        backend.con.con, str(backend.con.compile(expr)), cells, target[0], target[1],
        order_by=['report."' + name + '" ASC' for name in order],
        timestamp_format=profile.timestamp_format, bom=settings.csv_bom,
    )  # fmt: skip


def _sort_keys(fields: Fields, shown: dict[str, ibis.Value]) -> tuple[list[str], dict[str, ibis.Value]]:
    """The names to order by, and the key columns to add: a key the report shows is not sorted twice."""
    order: list[str] = []
    keys: dict[str, ibis.Value] = {}
    for index, key in enumerate(fields.order_by):
        column = fields.table[key]
        same = next((name for name, value in shown.items() if value.equals(column)), None)
        if same is None:
            same = f"k{index}"
            keys[same] = column
        order.append(same)
    return order, keys


def _constants(backend: Backend, values: dict[str, ibis.Value]) -> dict[str, pa.Scalar]:
    """The values that read no column (literals), computed once by the engine."""
    resolved = {name: _underlying(value.op()) for name, value in values.items()}
    fixed = {name: op.to_expr() for name, op in resolved.items() if not op.find(ops.Field)}
    if not fixed:
        return {}
    one = backend.table("one_row", pa.table({"one": [1]}))
    computed = backend.execute(one.select(**fixed))
    return {name: computed.column(name)[0] for name in fixed}


def _underlying(op: ops.Node) -> ops.Node:
    """What a column of projections and filters stands for (a literal, a computation, or a table column)."""
    while isinstance(op, ops.Field):
        rel = op.rel
        if isinstance(rel, ops.Project):
            op = rel.values[op.name]
        elif isinstance(rel, ops.Filter):
            op = rel.parent.to_expr()[op.name].op()
        else:
            break
    return op


def _with_constants(table: pa.Table, names: list[str], constants: dict[str, pa.Scalar]) -> pa.Table:
    """`table` with the constant columns put back in their places (`names` is the column order)."""
    for index, name in enumerate(names):
        if name in constants:
            value = constants[name]
            table = table.add_column(index, name, pa.repeat(value, table.num_rows))
    return table


def _formatted(table: pa.Table, columns: list[OutputColumn]) -> pa.Table:
    """Columns with a value format turned into their text (the others are printed by type)."""
    for index, column in enumerate(columns):
        if column.format != ValueFormat():
            formatted = format_column(table.column(index), column.format)
            table = table.set_column(index, pa.field(table.field(index).name, formatted.type), formatted)
    return table


class _Clock:
    """Wall time per phase, for benchmarks and job progress."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.start, 4)
        self.start = now
