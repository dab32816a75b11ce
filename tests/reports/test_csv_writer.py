"""The CSV writer (SPEC §3.6): any text round-trips through a standard CSV reader, with the formula rule."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from exhaust.reports.csv_writer import write_csv, write_csv_parts

FORMULA = ("=", "+", "-", "@", "\t", "\r")
csv.field_size_limit(1 << 30)
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


def read_back(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), text), min_size=1, max_size=20))
def test_text_round_trips_with_formula_prefix(tmp_path_factory, values: list[str | None]) -> None:
    path = tmp_path_factory.mktemp("csv") / "out.csv"
    write_csv(pa.table({"c": pa.array(values, pa.string())}), path, ['Name, "quoted"'])
    rows = read_back(path)
    assert rows[0] == ['Name, "quoted"']
    expected = ["" if not v else ("'" + v if v.startswith(FORMULA) else v) for v in values]
    assert [r[0] if r else "" for r in rows[1:]] == expected


@settings(max_examples=60, deadline=None)
@given(numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=20))
def test_numbers_are_plain_and_exact(tmp_path_factory, numbers: list[float]) -> None:
    path = tmp_path_factory.mktemp("csv") / "out.csv"
    write_csv(pa.table({"n": pa.array(numbers, pa.float64())}), path, ["n"])
    cells = [r[0] for r in read_back(path)[1:]]
    for number, cell in zip(numbers, cells, strict=True):
        assert not cell.startswith("'")
        assert float(cell) == number or (number == 0 and float(cell) == 0)
        if number.is_integer() and abs(number) < 1e15:
            assert cell == str(int(number))


def test_parts_make_one_file_with_one_header_and_a_bom(tmp_path: Path) -> None:
    parts = (pa.table({"a": [f"r{i}", None]}) for i in range(3))
    path = tmp_path / "parts.csv"
    assert write_csv_parts(parts, path, ["a"], bom=True) == 6
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode() == "a\nr0\n\nr1\n\nr2\n\n"
    assert [p.name for p in tmp_path.iterdir()] == ["parts.csv"]  # no temporary file left behind


def test_a_huge_cell_and_no_rows(tmp_path: Path) -> None:
    huge = "x" * 5_000_000 + ',"'
    write_csv(pa.table({"a": [huge]}), tmp_path / "huge.csv", ["a"])
    assert read_back(tmp_path / "huge.csv")[1] == [huge]
    write_csv(
        pa.table({"a": pa.array([], pa.string()), "b": pa.array([], pa.float64())}),
        tmp_path / "e.csv",
        ["A", "B"],
    )
    assert (tmp_path / "e.csv").read_text() == "A,B\n"


def test_one_copy_of_a_query_writes_the_bytes_of_the_streamed_writer(tmp_path: Path) -> None:
    import datetime as dt

    import duckdb

    from exhaust.reports.csv_writer import copy_query_csv

    when = dt.datetime(2021, 2, 3, 4, 5, 6, 789000, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    table = pa.table(
        {
            "k": pa.array([3, 1, 2], pa.int64()),
            "s": pa.array(['=x, "q"', None, "line\nbreak"], pa.string()),
            "f": pa.array([6.0, 0.33, None], pa.float64()),
            "t": pa.array([when, None, when], pa.timestamp("us", tz="Asia/Kolkata")),
            "b": pa.array([True, None, False]),
        }
    )
    headers = ["S", "F", "T", "B", "Const"]
    expected = tmp_path / "streamed.csv"
    ordered = table.sort_by("k").drop_columns(["k"])
    ordered = ordered.append_column("const", pa.array(["it's"] * 3))
    write_csv_parts([ordered.slice(0, 2), ordered.slice(2)], expected, headers, bom=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")  # the session zone must not matter
    con.register("data", table)
    cells = [(f"report.{c}", table.schema.field(c).type) for c in ("s", "f", "t", "b")]
    cells.append(("'it''s'", pa.string()))
    out = tmp_path / "copied.csv"
    rows = copy_query_csv(con, "SELECT * FROM data", cells, out, headers, order_by=["report.k"], bom=True)
    assert rows == 3
    assert out.read_bytes() == expected.read_bytes()
    assert b"2021-02-02 22:35:06:789+0000" in out.read_bytes()
    empty = tmp_path / "empty.csv"
    assert copy_query_csv(con, "SELECT * FROM data WHERE false", cells, empty, headers) == 0
    assert empty.read_text() == "S,F,T,B,Const\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copied.csv", "empty.csv", "streamed.csv"]
