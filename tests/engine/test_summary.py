"""The dashboard's batch figures, computed by the engine, against numbers worked out by hand from the data."""

from __future__ import annotations

import pytest

from exhaust.engine.backend import open_backend
from exhaust.engine.inputs import load_batch
from exhaust.engine.summary import BUCKETS, batch_summary
from exhaust.sources.open import open_source
from tests.dashboard.data import B1, B3, write_dashboard_source
from tests.dashboard.expected import expected_summary


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory):
    return open_source(str(write_dashboard_source(tmp_path_factory.mktemp("summary") / "src")))


def figures(source, batch_id: str, engine: str = "duckdb"):
    backend = open_backend(engine)
    try:
        return batch_summary(backend, load_batch(source, batch_id, backend))
    finally:
        backend.close()


def test_buckets_are_tens_then_one_hundred_alone() -> None:
    assert BUCKETS == (
        "0–9",
        "10–19",
        "20–29",
        "30–39",
        "40–49",
        "50–59",
        "60–69",
        "70–79",
        "80–89",
        "90–99",
        "100",
    )


def test_batch_figures_equal_the_hand_count(source) -> None:
    want = expected_summary()
    got = figures(source, B1)
    assert (got.enrolled, got.completed, got.certificates) == (12, 3, 2)
    assert got.percent == 25.0 == want["percent"]
    # By hand: 0,0 | 10 | 20 | 30 | - | 50,50 | - | 70 | - | 90 | 100,100,100
    assert got.distribution == (2, 1, 1, 1, 0, 2, 0, 1, 0, 1, 3) == tuple(want["distribution"])
    assert {a.name: [a.enrolled, a.completed] for a in got.districts} == want["districts"]
    assert {a.name: [a.enrolled, a.completed] for a in got.blocks} == want["blocks"]
    assert [a.name for a in got.districts] == ["Ernakulam", "Thrissur", ""]  # largest first
    assert got.course_name == "Safe Schools" and got.batch_name == "Batch One"


def test_an_empty_batch_has_zero_figures_not_errors(source) -> None:
    got = figures(source, B3)
    assert (got.enrolled, got.completed, got.certificates, got.percent) == (0, 0, 0, 0.0)
    assert got.distribution == (0,) * 11 and got.districts == () and got.blocks == ()


@pytest.mark.spark
def test_spark_gives_the_same_figures(source) -> None:
    assert figures(source, B1, "spark") == figures(source, B1)
