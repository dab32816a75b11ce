"""DuckDB runs under the configured memory limit, spilling to a private folder, and gives the same bytes
as with a roomy limit.

Not yet shown: a batch *much* larger than the limit (issue 12). Today the progress report of a
30,000-learner batch needs more than 64 MB, and a 10,000-learner response exhaust (322 MB of CSV) needs
200 MB at one thread (a fixed working set of 100-150 MB plus about a third of its CSV size); see
docs/scaling.md, "Bounded memory".
"""

from __future__ import annotations

from pathlib import Path

from exhaust.demo.generate import generate_demo
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
