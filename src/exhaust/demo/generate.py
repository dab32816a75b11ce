"""`exhaust demo-data`: write a realistic synthetic Sunbird data set, one `<table>.parquet` per table.

Reproducible for a seed (same seed, same bytes). Learners are generated in fixed-size chunks, each
from its own random stream, and appended to the learner-level files, so memory stays flat however
many learners are asked for; the small tables go through `write_table_file`.

Email and phone are Sunbird-encrypted (SPEC §5.4) with the salt from the `EXHAUST_SUNBIRD_ENCRYPTION_KEY`
setting, or with `DEMO_SALT` when that is empty: set the same value when reporting on demo data.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from exhaust.demo.arrays import uuids
from exhaust.demo.course import (
    MAIN_OUTLINE,
    ORIENTATION_OUTLINE,
    SAFETY_OUTLINE,
    IdMaker,
    build_course,
    question_template,
)
from exhaust.demo.geography import make_schools, make_tenants
from exhaust.demo.learners import LEARNER_TABLES, BatchPlan, World, chunk_tables, user_table
from exhaust.errors import BadInput
from exhaust.settings import get_settings
from exhaust.sources.files import write_table_file
from exhaust.sources.schema import TABLES

# The salt of Sunbird's own test fixtures, so one setting decrypts both the fixtures and the demo.
DEMO_SALT = "SunBird"
MAIN_BATCH = "batch-demo-main"
CHUNK = 10_000  # learners per chunk: part of the output's definition (changing it changes the data)


@dataclass(frozen=True)
class DemoSummary:
    """What was written: the folder, the batch to try first, row counts and the PII salt used."""

    folder: Path
    main_batch_id: str
    main_course_id: str
    channel_id: str  # the main course's channel (consumer of its consents)
    rows: dict[str, int]
    salt: str = field(repr=False)  # may be the configured tenant salt: keep it out of logs
    batch_ids: tuple[str, ...] = field(default=())


def generate_demo(
    out_dir: Path,
    learners: int,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
    *,
    salt: str | None = None,
) -> DemoSummary:
    """Write the demo data set for `learners` learners into `out_dir`.

    `progress` is called with the number of learners written so far, after each chunk. Files appear
    complete or not at all (each is written under a temporary name, then renamed).
    """
    if learners < 0:
        raise BadInput("the number of learners must be zero or more")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if salt is None:
        salt = get_settings().sunbird_encryption_key or DEMO_SALT
    world, mentors = _world(seed, salt)

    writers = {name: _Appender(out_dir / f"{name}.parquet", name) for name in LEARNER_TABLES}
    # Chunk i is written on a second thread while chunk i + 1 is generated (both release the GIL);
    # at most one chunk waits, so memory stays at about two chunks. Progress counts written learners.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_write_all, writers, {"users": [mentors]})
        written = 0
        try:
            for number, first in enumerate(range(0, learners, CHUNK)):
                count = min(CHUNK, learners - first)
                tables = chunk_tables(world, np.random.default_rng([seed, 1, number]), first, count)
                pending.result()
                if progress is not None and written:
                    progress(written)
                pending = pool.submit(_write_all, writers, tables)
                written = first + count
            pending.result()
        except BaseException:
            pending.cancel()
            wait([pending])
            for writer in writers.values():
                writer.abort()
            raise
    if progress is not None and written:
        progress(written)
    rows = {name: writer.close() for name, writer in writers.items()}
    rows.update(_write_static(world, out_dir))
    main = world.batches[0]
    return DemoSummary(
        folder=out_dir,
        main_batch_id=main.batch_id,
        main_course_id=main.course.course_id,
        channel_id=main.course.channel,
        rows=rows,
        salt=salt,
        batch_ids=tuple(b.batch_id for b in world.batches),
    )


def _write_all(writers: dict[str, _Appender], tables: dict[str, list[pa.Table]]) -> None:
    for name, parts in tables.items():
        for table in parts:
            writers[name].write(table)


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def _world(seed: int, salt: str) -> tuple[World, pa.Table]:
    """Tenants, schools, courses and batches, plus the mentors' profiles."""
    rng = np.random.default_rng([seed, 0])
    tenants = make_tenants(rng)
    schools = make_schools(rng)
    main_state = 0  # Karnataka
    other_state = 1  # Uttar Pradesh
    ids = IdMaker(rng)
    main = build_course(MAIN_OUTLINE, tenants.ids[main_state], ids, consent=True)
    safety = build_course(SAFETY_OUTLINE, tenants.ids[main_state], ids, consent=False)
    orientation = build_course(ORIENTATION_OUTLINE, tenants.ids[other_state], ids, consent=True)
    mentor_ids = uuids(rng, 3)
    mentors = mentor_ids.to_pylist()
    batches = (
        BatchPlan(
            MAIN_BATCH,
            "NISHTHA FLN 2.0 – Batch 1 (2026)",
            main,
            question_template(main),
            _ms("2026-01-15"),
            _ms("2026-12-31"),
            1.0,
            1,
            "open",
            (main.channel,),
            (mentors[0], mentors[1]),
            True,
        ),
        BatchPlan(
            "batch-demo-safety",
            "Cyber Safety, Oct 2025",
            safety,
            question_template(safety),
            _ms("2025-10-01"),
            _ms("2026-03-31"),
            0.10,
            2,
            "open",
            (safety.channel,),
            (mentors[2],),
            False,
        ),
        BatchPlan(
            "batch-demo-orientation",
            "DIKSHA Orientation (invite only)",
            orientation,
            question_template(orientation),
            _ms("2026-04-01"),
            None,
            0.05,
            1,
            "invite-only",
            (orientation.channel, main.channel),
            (),
            True,
        ),
    )
    world = World(tenants=tenants, schools=schools, batches=batches, main_state=main_state, salt=salt)
    return world, user_table(world, rng, mentor_ids, admins=True)


def _write_static(world: World, out_dir: Path) -> dict[str, int]:
    """course_batch, content_hierarchy and system_settings (a handful of rows each)."""
    batches = world.batches
    tables = {
        "course_batch": {
            "batchid": [b.batch_id for b in batches],
            "courseid": [b.course.course_id for b in batches],
            "name": [b.name for b in batches],
            "start_date": [_day(b.start_ms) for b in batches],
            "end_date": [_day(b.end_ms) for b in batches],
            "enrollment_type": [b.enrollment_type for b in batches],
            "status": [b.status for b in batches],
            "created_for": [list(b.created_for) for b in batches],
            "mentors": [list(b.mentors) for b in batches],
        },
        "content_hierarchy": {
            "identifier": [b.course.course_id for b in batches],
            "hierarchy": [b.course.hierarchy_text() for b in batches],
        },
        "system_settings": {
            "id": ["custodianOrgId"],
            "field": ["custodianOrgId"],
            "value": [world.tenants.custodian],
        },
    }
    rows = {}
    for name, columns in tables.items():
        table = pa.table(columns, schema=TABLES[name].schema)
        _atomic(out_dir / f"{name}.parquet", functools.partial(write_table_file, table))
        rows[name] = table.num_rows
    return rows


def _day(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    os.replace(temporary, path)


class _Appender:
    """Appends chunks to one Parquet file (same settings as `write_table_file`), visible when closed."""

    def __init__(self, path: Path, table: str) -> None:
        self.path = path
        self.temporary = path.with_name(path.name + ".tmp")
        self.writer = pq.ParquetWriter(self.temporary, TABLES[table].schema, compression="zstd")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> int:
        self.writer.close()
        os.replace(self.temporary, self.path)
        return self.rows

    def abort(self) -> None:
        self.writer.close()
        self.temporary.unlink(missing_ok=True)


__all__ = ["DEMO_SALT", "MAIN_BATCH", "DemoSummary", "generate_demo"]
