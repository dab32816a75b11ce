"""The same report logic on PySpark gives byte-identical CSV files (SPEC §7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from tests.builders import assessment, batch, course, enrolment, hierarchy_row, leaf, write_source
from tests.reports.test_progress_rules import DEEP, attempt
from tests.reports.test_seed_sample import BATCH, seed_source

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module", autouse=True)
def _java() -> None:
    if shutil.which("java") is None:  # pragma: no cover - the machine has Java 17
        raise RuntimeError("Spark parity needs Java on PATH")


def both(source_dir: Path, batch_id: str, out: Path, profile: str | None = None) -> tuple[bytes, bytes]:
    source = open_source(str(source_dir))
    duck = build_report(
        source, "progress-exhaust", batch_id, out / "duck.csv", engine="duckdb", profile=profile
    )
    spark = build_report(
        source, "progress-exhaust", batch_id, out / "spark.csv", engine="spark", profile=profile
    )
    assert duck.rows == spark.rows
    return duck.path.read_bytes(), spark.path.read_bytes()


def test_seed_sample_identical_on_spark(tmp_path: Path) -> None:
    duck, spark = both(seed_source(tmp_path / "src"), BATCH, tmp_path)
    assert duck == spark
    assert duck.count(b"\n") == 3


def test_rich_batch_identical_on_spark(tmp_path: Path) -> None:
    c, b = "do_course", "batch-1"
    tree = course(c, [*DEEP["children"], assessment("q1"), leaf("l9")])
    enrolments = [
        enrolment(
            f"u{i:03d}",
            c,
            b,
            contentstatus={"x1": 2, "y1": 2, "z1": 2 if i % 2 else 1},
            enrolled_date="2020-01-01T00:00:00Z",
        )
        for i in range(40)
    ]
    enrolments += [
        enrolment("done", c, b, completedon="2021-02-03T04:05:06.789Z", issued_certificates=[{"id": "x"}]),
        enrolment("legacy", c, b, enrolleddate="2019-11-13 05:41:50:382+0000", certstatus=3),
    ]
    attempts = [
        attempt(f"u{i:03d}", "q1", f"a{i}", i % 7 + 0.5, "2020-01-02T00:00:00Z") for i in range(0, 40, 3)
    ]
    for i, row in enumerate(attempts):
        row["course_id"], row["batch_id"] = c, b
        row["grand_total"] = f"{row['total_score']}/10.0" if i % 2 else "bad"
    users = [
        {
            "userid": f"u{i:03d}",
            "firstname": f"Name{i}",
            "lastname": "=x" if i == 5 else "Last",
            "state": "Kerala",
        }
        for i in range(40)
    ]
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(b, c)],
        content_hierarchy=[hierarchy_row(tree)],
        user_enrolments=enrolments,
        assessment_aggregator=attempts,
        users=users,
    )
    duck, spark = both(folder, b, tmp_path)
    assert duck == spark
    assert duck.count(b"\n") == 43
    duck, spark = both(folder, b, tmp_path, profile="progress-exhaust-sunbird-lern")
    assert duck == spark
    assert b"BatchId_batch-1" in duck and b"%" in duck


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory):
    """A whole demo batch of modest size: realistic names (Yadav, Jadhav), dates, scores and nesting."""
    from exhaust.demo.generate import generate_demo

    return generate_demo(tmp_path_factory.mktemp("demo"), 2_000, seed=11)


@pytest.mark.parametrize("dataset", ["progress-exhaust", "response-exhaust"])
def test_whole_demo_batch_identical_on_spark(demo_batch, dataset: str, tmp_path: Path) -> None:
    source = open_source(str(demo_batch.folder))
    files = {}
    for engine in ("duckdb", "spark"):
        result = build_report(
            source, dataset, demo_batch.main_batch_id, tmp_path / f"{engine}.csv", engine=engine
        )
        files[engine] = result.path.read_bytes()
    assert files["duckdb"] == files["spark"]
    text = files["duckdb"].decode("utf-8")
    assert text.count("\n") > 1_000
    if dataset == "progress-exhaust":  # the names that Spark's strip once cut short are there, whole
        assert any(name in text for name in ("Yadav,", "Jadhav,", "Aarav "))


def test_spark_report_prints_nothing_of_spark_on_the_terminal(tmp_path: Path) -> None:
    """No log4j banner, no native-library warning, no stage progress bars: only the report's own line."""
    import os
    import subprocess
    import sys

    source = seed_source(tmp_path / "src")
    out = tmp_path / "progress.csv"
    env = {**os.environ, "EXHAUST_SPARK_MASTER": "local[1]"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "exhaust", "report", "progress-exhaust", "--source", str(source)),
            *("--batch", BATCH, "--output", str(out), "--engine", "spark"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "".join(done.stderr.split()) == f"2rowswrittento{out}"  # Rich may wrap the line
    assert done.stdout == ""
    duck = build_report(open_source(str(source)), "progress-exhaust", BATCH, tmp_path / "d.csv")
    assert out.read_bytes() == duck.path.read_bytes()
