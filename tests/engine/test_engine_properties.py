"""Every string, number and date operation the report expressions use gives the same values on DuckDB
and Spark, for generated inputs (hypothesis). Each example is a column of many values, so a handful of
examples (one Spark query each, on the one shared session) covers a wide range quickly.

These would have caught Spark's `strip()` removing a trailing `v` or `f` (`Yadav` -> `Yada`).
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from datetime import UTC, datetime

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exhaust.engine.backend import DuckDBBackend, SparkBackend
from exhaust.engine.inputs import TS
from exhaust.engine.learners import _blank_to_null
from exhaust.engine.progress import grand_total_percent, percent, percent_text

pytestmark = pytest.mark.spark

EXAMPLES = settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Letters a name may end with (v and f were Spark's bug), whitespace of every kind, and some non-ASCII.
CHARS = st.sampled_from([*string.ascii_letters, *string.whitespace, "\u00a0", "é", "क", "'", '"', ",", "="])
TEXT = st.one_of(st.none(), st.text(CHARS, max_size=10))
Expressions = Callable[[ir.Table], dict[str, ir.Value]]


@pytest.fixture(scope="module")
def spark() -> SparkBackend:
    return SparkBackend()


def run_both(spark: SparkBackend, data: pa.Table, expressions: Expressions) -> tuple[list, list]:
    """The same expressions over `data` on DuckDB and on Spark, rows in input order."""
    data = data.append_column("row", pa.array(range(data.num_rows), pa.int64()))
    results = []
    duck = DuckDBBackend()
    try:
        for backend in (duck, spark):
            table = backend.table("t", data)
            expr = table.select(row=table.row, **expressions(table)).order_by("row")
            results.append(_utc(backend.execute(expr).drop_columns(["row"])).to_pylist())
    finally:
        duck.close()
        spark.close()
    return results[0], results[1]


def _utc(table: pa.Table) -> pa.Table:
    """Timestamps as UTC instants (Spark returns them naive, DuckDB with a zone; the CSV writer does the same)."""
    for index, column in enumerate(table.columns):
        if pa.types.is_timestamp(column.type):
            table = table.set_column(index, table.field(index).name, column.cast(TS))
    return table


@EXAMPLES
@given(st.lists(TEXT, min_size=1, max_size=60))
def test_strip_and_blank_handling_agree(spark: SparkBackend, values: list[str | None]) -> None:
    data = pa.table({"a": pa.array(values, pa.string())})
    duck, sparked = run_both(
        spark,
        data,
        lambda t: {
            "strip": t.a.strip(),
            "lstrip": t.a.lstrip(),
            "rstrip": t.a.rstrip(),
            "blank_to_null": _blank_to_null(t.a),
            "filled": t.a.strip().fill_null(""),
        },
    )
    assert duck == sparked
    # And both mean what Python means by stripping ASCII whitespace.
    ws = string.whitespace
    assert [r["strip"] for r in duck] == [None if v is None else v.strip(ws) for v in values]
    assert [r["rstrip"] for r in duck] == [None if v is None else v.rstrip(ws) for v in values]


@EXAMPLES
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=60))
def test_user_name_concatenation_agrees(spark: SparkBackend, names: list[tuple]) -> None:
    data = pa.table(
        {
            "first": pa.array([n[0] for n in names], pa.string()),
            "last": pa.array([n[1] for n in names], pa.string()),
        }
    )

    def name(t: ir.Table) -> dict[str, ir.Value]:
        first, last = t["first"].strip().fill_null(""), t["last"].strip().fill_null("")
        return {
            "user_name": _blank_to_null((first + " " + last).strip()),
            "prefixed": ibis.literal("BatchId_") + t["first"].cast("string"),
        }

    duck, sparked = run_both(spark, data, name)
    assert duck == sparked


@EXAMPLES
@given(
    st.lists(
        st.tuples(st.integers(-5, 10**6), st.integers(-3, 10**6)),
        min_size=1,
        max_size=60,
    )
)
def test_progress_percentages_agree(spark: SparkBackend, pairs: list[tuple[int, int]]) -> None:
    data = pa.table(
        {
            "done": pa.array([p[0] for p in pairs], pa.int64()),
            "leaves": pa.array([p[1] for p in pairs], pa.int64()),
        }
    )
    duck, sparked = run_both(spark, data, lambda t: {"percent": percent(t.done, t.leaves)})
    assert duck == sparked
    for (done, leaves), row in zip(pairs, duck, strict=True):
        expected = 0 if leaves <= 0 else min(math.floor((done * 200 + leaves) / (leaves * 2)), 100)
        assert row["percent"] == expected


FLOAT = st.one_of(
    st.none(),
    st.floats(-1e6, 1e6, allow_nan=False, width=32).map(float),
    st.integers(0, 1000).map(float),
)


@EXAMPLES
@given(st.lists(st.tuples(FLOAT, FLOAT), min_size=1, max_size=60))
@example([(1e6, 1e-17)])  # a ratio beyond a 64-bit integer once failed the whole report on DuckDB
def test_score_percent_text_agrees(spark: SparkBackend, pairs: list[tuple]) -> None:
    data = pa.table(
        {
            "part": pa.array([p[0] for p in pairs], pa.float64()),
            "whole": pa.array([p[1] for p in pairs], pa.float64()),
        }
    )
    duck, sparked = run_both(
        spark,
        data,
        lambda t: {
            "text": percent_text(t.part, t.whole),
            "total": t.part + t.whole,
            "best": ibis.greatest(t.part, t.whole),
        },
    )
    assert duck == sparked


def test_score_percent_text_by_hand(spark: SparkBackend) -> None:
    pairs = [(1.0, 3.0), (7.0, 100.0), (5.0, 0.0), (None, 4.0), (1e6, 1e-17), (-1.0, 4.0)]
    data = pa.table({"part": [p for p, _ in pairs], "whole": [w for _, w in pairs]})
    duck, sparked = run_both(spark, data, lambda t: {"text": percent_text(t.part, t.whole)})
    assert [row["text"] for row in duck] == ["34%", "7%", None, None, None, "-25%"]
    assert duck == sparked


GRAND_TOTAL = st.one_of(
    st.none(),
    st.builds(
        lambda a, b, sep: f"{a}{sep}{b}",
        st.floats(0, 500, allow_nan=False).map(lambda f: round(f, 2)),
        st.floats(0, 500, allow_nan=False).map(lambda f: round(f, 2)),
        st.sampled_from(["/", " / ", "/ ", "-", ""]),
    ),
    st.text(st.sampled_from("0123456789./ abc"), max_size=8),
)


@EXAMPLES
@given(st.lists(GRAND_TOTAL, min_size=1, max_size=60))
def test_grand_total_percent_agrees(spark: SparkBackend, values: list[str | None]) -> None:
    data = pa.table({"g": pa.array(values, pa.string())})
    duck, sparked = run_both(spark, data, lambda t: {"percent": grand_total_percent(t.g)})
    assert duck == sparked


MOMENT = st.one_of(
    st.none(),
    st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
    ),
)


@EXAMPLES
@given(st.lists(st.tuples(MOMENT, st.integers(0, 3)), min_size=1, max_size=60))
def test_timestamp_and_status_logic_agrees(spark: SparkBackend, rows: list[tuple]) -> None:
    data = pa.table(
        {
            "completed_on": pa.array([r[0] for r in rows], TS),
            "status": pa.array([r[1] for r in rows], pa.int32()),
        }
    )
    duck, sparked = run_both(
        spark,
        data,
        lambda t: {
            "finished": t.completed_on.notnull() | (t.status == 2),
            "kept": t.completed_on,
            "latest": t.completed_on.max().over(ibis.window(group_by=t.status)),
        },
    )
    assert duck == sparked
