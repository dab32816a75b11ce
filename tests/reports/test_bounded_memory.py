"""DuckDB runs under the configured memory limit, spilling to a private folder, and gives the same bytes
as with a roomy limit.

The progress report of a batch whose input columns are five times the limit completes with DuckDB's two
threads (each per-learner join runs in a query of its own, `Backend.stage`). Not yet shown: a
10,000-learner response exhaust (322 MB of CSV) needs 200 MB at one thread (a fixed working set of
100-150 MB plus about a third of its CSV size); see docs/scaling.md, "Bounded memory".
"""

from __future__ import annotations

from pathlib import Path

from exhaust.demo.generate import DemoSummary, generate_demo
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.open import open_source


def test_progress_report_under_a_low_memory_limit_equals_the_roomy_one(tmp_path: Path) -> None:
    demo = generate_demo(tmp_path / "demo", 3_000, seed=3)
    source = open_source(str(demo.folder))
    spill = tmp_path / "spill"
    spill.mkdir()
    low = Settings(duckdb_memory_limit="64MB", duckdb_spill_dir=spill, duckdb_threads=1)
    small = build_report(source, "progress-exhaust", demo.main_batch_id, tmp_path / "low.csv", settings=low)
    roomy = build_report(
        source, "progress-exhaust", demo.main_batch_id, tmp_path / "roomy.csv",
        settings=Settings(duckdb_memory_limit="4GB"),
    )  # fmt: skip
    assert small.rows == roomy.rows > 2_500
    assert (tmp_path / "low.csv").read_bytes() == (tmp_path / "roomy.csv").read_bytes()
    assert list(spill.iterdir()) == []  # the private spill folder is removed with the report


def test_a_limit_too_low_is_an_error_not_a_half_written_file(tmp_path: Path) -> None:
    import pytest

    demo = generate_demo(tmp_path / "demo", 3_000, seed=3)
    out = tmp_path / "out.csv"
    from exhaust.errors import EngineOutOfMemory

    with pytest.raises(EngineOutOfMemory, match="EXHAUST_DUCKDB_MEMORY_LIMIT \\(8MB\\)"):
        build_report(
            open_source(str(demo.folder)), "progress-exhaust", demo.main_batch_id, out,
            settings=Settings(duckdb_memory_limit="8MB", duckdb_threads=1),
        )  # fmt: skip
    assert list(tmp_path.glob("*.csv")) == [] and list(tmp_path.glob(".out.csv*")) == []


def _input_bytes(folder: Path, batch: dict) -> int:
    """The in-memory (Arrow) size of the batch's rows and columns a progress report reads."""
    import pyarrow.parquet as pq

    from exhaust.engine.inputs import ACTIVITY_COLUMNS, ENROLMENT_COLUMNS
    from exhaust.sources.schema import USER_FIELDS

    batch_id, course_id = batch["batchid"], batch["courseid"]
    parts = [
        ("user_enrolments", ENROLMENT_COLUMNS, [("batchid", "=", batch_id)]),
        ("user_activity_agg", ACTIVITY_COLUMNS, [("context_id", "=", f"cb:{batch_id}")]),
        ("assessment_aggregator", ["user_id", "content_id", "total_score"], [("batch_id", "=", batch_id), ("course_id", "=", course_id)]),
        ("users", list(USER_FIELDS), None),
    ]  # fmt: skip
    return sum(
        pq.read_table(folder / f"{name}.parquet", columns=columns, filters=filters).nbytes
        for name, columns, filters in parts
    )


def _low_equals_roomy(tmp_path: Path, demo: DemoSummary, limit: str, threads: int) -> int:
    """Build the progress report at `limit` (spilling to a private folder) and at 4 GB; assert the bytes
    are the same and the spill folder is left empty; return the rows."""
    source = open_source(str(demo.folder))
    spill = tmp_path / "spill"
    spill.mkdir()
    low = Settings(duckdb_memory_limit=limit, duckdb_spill_dir=spill, duckdb_threads=threads)
    small = build_report(source, "progress-exhaust", demo.main_batch_id, tmp_path / "low.csv", settings=low)
    roomy = build_report(
        source, "progress-exhaust", demo.main_batch_id, tmp_path / "roomy.csv",
        settings=Settings(duckdb_memory_limit="4GB"),
    )  # fmt: skip
    assert small.rows == roomy.rows
    assert (tmp_path / "low.csv").read_bytes() == (tmp_path / "roomy.csv").read_bytes()
    assert list(spill.iterdir()) == []
    return small.rows


def test_progress_report_of_a_batch_larger_than_the_limit_equals_the_roomy_one(tmp_path: Path) -> None:
    """30,000 learners at 64 MB with DuckDB's two threads: the progress exhaust used to run out of memory
    here (a window over whole enrolment rows and an unnested contentstatus joined to the leaves)."""
    demo = generate_demo(tmp_path / "demo", 30_000, seed=3)
    batch = open_source(str(demo.folder)).batch(demo.main_batch_id)
    assert _input_bytes(demo.folder, batch) > 1.3 * 64 * 2**20  # 88 MB
    assert _low_equals_roomy(tmp_path, demo, "64MB", threads=2) > 29_000


def test_progress_report_of_a_batch_five_times_the_limit_equals_the_roomy_one(tmp_path: Path) -> None:
    """225,000 learners at 128 MB with two threads: the batch's input columns (as Arrow) are measured, and
    the report is byte-identical to a 4 GB build. 128 MB, not less: two DuckDB threads need about 50 MB
    for themselves (Parquet row groups, vectors, table and sort buffers), and the joins' hash tables of a
    batch this size must still be partitioned and spilled in the rest."""
    limit_mb = 128
    demo = generate_demo(tmp_path / "demo", 225_000, seed=3)
    batch = open_source(str(demo.folder)).batch(demo.main_batch_id)
    ratio = _input_bytes(demo.folder, batch) / (limit_mb * 2**20)
    assert ratio >= 5, f"the batch is only {ratio:.2f} times the limit"
    assert _low_equals_roomy(tmp_path, demo, f"{limit_mb}MB", threads=2) > 220_000
