"""A report of a batch far larger than DuckDB's memory limit completes, spilling to disk, and gives the
same bytes as with a roomy limit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from exhaust.demo.generate import generate_demo
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.open import open_source


def test_response_report_of_a_batch_much_larger_than_the_memory_limit(tmp_path: Path) -> None:
    demo = generate_demo(tmp_path / "demo", 3_000, seed=3)
    source = open_source(str(demo.folder))
    spill = tmp_path / "spill"
    spill.mkdir()
    low = Settings(duckdb_memory_limit="40MB", duckdb_spill_dir=spill, duckdb_threads=1)
    small = build_report(source, "response-exhaust", demo.main_batch_id, tmp_path / "low.csv", settings=low)
    # The batch's attempts with their questions alone are several times the limit once in memory.
    attempts = duckdb.sql(
        f"SELECT sum(length(CAST(question AS VARCHAR))) FROM read_parquet('{demo.folder}/assessment_aggregator.parquet') "
        f"WHERE batch_id = '{demo.main_batch_id}'"
    ).fetchone()[0]
    assert attempts > 3 * 40 * 1024 * 1024
    roomy = build_report(
        source, "response-exhaust", demo.main_batch_id, tmp_path / "roomy.csv",
        settings=Settings(duckdb_memory_limit="4GB"),
    )  # fmt: skip
    assert small.rows == roomy.rows > 50_000
    assert (tmp_path / "low.csv").read_bytes() == (tmp_path / "roomy.csv").read_bytes()
    assert list(spill.iterdir()) == []  # the private spill folder is removed with the report
