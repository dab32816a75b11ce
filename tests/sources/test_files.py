"""The files adapter: the same tables as JSONL, CSV and Parquet, empty and missing files, bad rows."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exhaust.errors import BadInput, MissingTable, SourceDataError
from exhaust.sources.base import Source
from exhaust.sources.coerce import parse_timestamp
from exhaust.sources.files import FileTables
from exhaust.sources.memory import MemoryTables
from exhaust.sources.schema import TABLES

# The rows as native JSON values (what a JSONL file holds).
ROWS: dict[str, list[dict]] = {
    "course_batch": [
        {
            "batchid": "b1",
            "courseid": "c1",
            "name": "Batch One",
            "start_date": "2020-01-20",
            "end_date": None,
            "enrollment_type": "open",
            "status": 1,
            "created_for": ["org1", "org2"],
            "mentors": [],
        },
        {
            "batchid": "b2",
            "courseid": "c2",
            "name": 'Batch, "Two"\nsecond line',
            "start_date": "2020-02-20",
            "end_date": "2020-12-31",
            "enrollment_type": "invite-only",
            "status": 2,
            "created_for": None,
            "mentors": ["m1"],
        },
    ],
    "user_enrolments": [
        {
            "userid": "u1",
            "courseid": "c1",
            "batchid": "b1",
            "active": True,
            "enrolled_date": "2020-08-25T13:45:54.150Z",
            "enrolleddate": "2019-11-13 05:41:50:382+0000",
            "completedon": None,
            "status": 1,
            "progress": 50,
            "contentstatus": {"do_1": 2, "do_2": 1},
            "certificates": [{"id": "cert1", "name": "Completion"}],
            "issued_certificates": [],
            "certstatus": None,
        },
        {
            "userid": "u2",
            "courseid": "c1",
            "batchid": "b1",
            "active": False,
            "enrolled_date": "2020-08-25 19:15:54.150+0530",
            "enrolleddate": None,
            "completedon": None,
            "status": 0,
            "progress": 0,
            "contentstatus": None,
            "certificates": None,
            "issued_certificates": None,
            "certstatus": None,
        },
        {
            "userid": "u3",
            "courseid": "c2",
            "batchid": "b2",
            "active": True,
            "enrolled_date": "2020-08-25 13:45:54.150+0000",
            "enrolleddate": "2019-11-15 05:41:50:382+0000",
            "completedon": "2021-01-01T00:00:00Z",
            "status": 2,
            "progress": 100,
            "contentstatus": {"do_9": 2},
            "certificates": [],
            "issued_certificates": [{"identifier": "i1", "lastIssuedOn": "2021-01-02"}],
            "certstatus": 1,
        },
    ],
    "assessment_aggregator": [
        {
            "course_id": "c1",
            "batch_id": "b1",
            "user_id": "u1",
            "content_id": "do_qs",
            "attempt_id": "a1",
            "last_attempted_on": "2021-07-15T05:30:00.000Z",
            "total_score": 1.5,
            "total_max_score": 2,
            "grand_total": "1.5/2.0",
            "question": [
                {
                    "id": "q1",
                    "assess_ts": "2020-06-18T18:15:56.490+0000",
                    "max_score": 1,
                    "score": 0.5,
                    "type": "mcq",
                    "title": "T, with 'quotes'",
                    "resvalues": [{"1": '{"text":"A"}'}],
                    "params": [{"1": "a"}, {"answer": '{"correct":["1"]}'}],
                    "description": None,
                    "duration": 1.5,
                }
            ],
        }
    ],
    "content_hierarchy": [
        {"identifier": "c1", "hierarchy": {"identifier": "c1", "name": "Course", "children": []}},
    ],
}

TS = {
    "2020-08-25T13:45:54.150Z": datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC),
    "2020-08-25 19:15:54.150+0530": datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC),
    "2020-08-25 13:45:54.150+0000": datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC),
    "2019-11-13 05:41:50:382+0000": datetime(2019, 11, 13, 5, 41, 50, 382000, tzinfo=UTC),
    "2021-01-01T00:00:00Z": datetime(2021, 1, 1, tzinfo=UTC),
    "2021-07-15T05:30:00.000Z": datetime(2021, 7, 15, 5, 30, tzinfo=UTC),
    "2020-06-18T18:15:56.490+0000": datetime(2020, 6, 18, 18, 15, 56, 490000, tzinfo=UTC),
}


def _arrow_value(value: object, arrow_type: pa.DataType) -> object:
    """The expected Python value for Arrow, written out by hand rather than by the code under test."""
    if value is None:
        return None
    if pa.types.is_timestamp(arrow_type):
        return TS[value]
    if pa.types.is_map(arrow_type):
        return [(k, _arrow_value(v, arrow_type.item_type)) for k, v in value.items()]
    if pa.types.is_list(arrow_type):
        return [_arrow_value(v, arrow_type.value_type) for v in value]
    if pa.types.is_struct(arrow_type):
        return {f.name: _arrow_value(value.get(f.name), f.type) for f in arrow_type}
    if pa.types.is_floating(arrow_type):
        return float(value)
    if pa.types.is_string(arrow_type) and isinstance(value, dict):
        return json.dumps(value)
    return value


def expected(table: str) -> pa.Table:
    schema = TABLES[table].schema
    rows = [{f.name: _arrow_value(row.get(f.name), f.type) for f in schema} for row in ROWS[table]]
    return pa.Table.from_pylist(rows, schema=schema)


def _as_text(value: object) -> object:
    return json.dumps(value) if isinstance(value, dict | list) else value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_as_text(value))


def write_jsonl(folder: Path, table: str, json_text: bool) -> None:
    with (folder / f"{table}.jsonl").open("w", encoding="utf-8") as handle:
        for row in ROWS[table]:
            if json_text:
                row = {k: _as_text(v) for k, v in row.items()}
            handle.write(json.dumps(row) + "\n")
            handle.write("\n")  # blank lines are skipped


def write_csv(folder: Path, table: str) -> None:
    columns = TABLES[table].columns
    with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in ROWS[table]:
            writer.writerow([_cell(row.get(c)) for c in columns])


def write_parquet(folder: Path, table: str) -> None:
    """A Parquet file typed as another tool would write it: int64, naive microsecond times, JSON text maps."""
    data = expected(table)
    columns = {}
    for field in data.schema:
        column = data.column(field.name)
        if pa.types.is_integer(field.type):
            column = column.cast(pa.int64())
        elif pa.types.is_timestamp(field.type):
            column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        elif pa.types.is_map(field.type):
            column = pa.array([_as_text(row.get(field.name)) for row in ROWS[table]], type=pa.string())
        columns[field.name] = column
    if table == "course_batch":  # Sunbird's older names are accepted
        columns["createdfor"] = columns.pop("created_for")
    pq.write_table(pa.table(columns), folder / f"{table}.parquet")


WRITERS = {
    "jsonl": lambda folder, table: write_jsonl(folder, table, json_text=False),
    "jsonl-text": lambda folder, table: write_jsonl(folder, table, json_text=True),
    "csv": write_csv,
    "parquet": write_parquet,
}


@pytest.fixture(params=sorted(WRITERS))
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    for table in ROWS:
        WRITERS[request.param](tmp_path, table)
    return tmp_path


@pytest.mark.parametrize("table", sorted(ROWS))
def test_every_format_gives_the_same_table(folder: Path, table: str) -> None:
    read = FileTables(folder).read(table, {})
    assert read.schema == TABLES[table].schema
    assert read.to_pylist() == expected(table).to_pylist()
    assert read.equals(expected(table))


def test_filter_by_batch(folder: Path) -> None:
    tables = FileTables(folder)
    b1 = tables.read("user_enrolments", {"batchid": ["b1"]})
    assert b1.column("userid").to_pylist() == ["u1", "u2"]
    assert tables.read("user_enrolments", {"batchid": ["b2"], "userid": ["u1", "u3"]}).column(
        "userid"
    ).to_pylist() == ["u3"]
    assert tables.read("user_enrolments", {"batchid": []}).num_rows == 0
    source = Source(tables)
    assert source.enrolments("b2").column("userid").to_pylist() == ["u3"]
    assert source.batch("b2")["name"] == 'Batch, "Two"\nsecond line'
    assert source.hierarchy("c1") == {"identifier": "c1", "name": "Course", "children": []}
    only = tables.read("assessment_aggregator", {"batch_id": ["b1"]}, columns=["user_id", "total_score"])
    assert only.to_pylist() == [{"user_id": "u1", "total_score": 1.5}]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_an_empty_file_is_an_empty_table(tmp_path: Path, suffix: str) -> None:
    for table in ("course_batch", "user_enrolments", "content_hierarchy"):
        (tmp_path / f"{table}{suffix}").write_bytes(b"")
    tables = FileTables(tmp_path)
    for table in ("course_batch", "user_enrolments", "content_hierarchy", "users"):
        read = tables.read(table, {"batchid": ["b1"]} if table == "course_batch" else {})
        assert read.num_rows == 0
        assert read.schema == TABLES[table].schema


def test_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    for table in ("course_batch", "user_enrolments", "content_hierarchy"):
        (tmp_path / f"{table}.csv").write_text(",".join(TABLES[table].columns) + "\n", encoding="utf-8")
    read = FileTables(tmp_path).read("user_enrolments", {})
    assert read.num_rows == 0 and read.schema == TABLES["user_enrolments"].schema


def test_missing_required_table(tmp_path: Path) -> None:
    write_csv(tmp_path, "course_batch")
    write_csv(tmp_path, "content_hierarchy")
    with pytest.raises(MissingTable, match="user_enrolments") as caught:
        FileTables(tmp_path)
    assert "course_batch" not in str(caught.value)
    with pytest.raises(BadInput, match="does not exist"):
        FileTables(tmp_path / "nowhere")


def _folder_with(tmp_path: Path, name: str, content: str | bytes) -> FileTables:
    for table in ("course_batch", "content_hierarchy", "user_enrolments"):
        write_csv(tmp_path, table)
    path = tmp_path / name
    if name.endswith(".jsonl"):
        (tmp_path / "user_enrolments.csv").unlink()
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return FileTables(tmp_path)


HEADER = "userid,courseid,batchid,active,enrolled_date,status,contentstatus\n"
GOOD = "u1,c1,b1,true,2020-08-25T13:45:54.150Z,1,\n"


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        (
            "user_enrolments.csv",
            HEADER + GOOD + "u2,c1,b1,true,2020-13-45 10:00:00,1,\n",
            r"user_enrolments\.csv, line 3, column enrolled_date: cannot read '2020-13-45 10:00:00'",
        ),
        (
            "user_enrolments.csv",
            HEADER + GOOD + 'u2,c1,b1,true,,1,"{""do_1"": 2"\n',
            r"user_enrolments\.csv, line 3, column contentstatus: .*invalid JSON",
        ),
        (
            "user_enrolments.csv",
            HEADER + GOOD + GOOD + "u3,c1,b1,true,,1.5,\n",
            r"user_enrolments\.csv, line 4, column status: cannot read '1\.5' \(not a whole number\)",
        ),
        (
            "user_enrolments.csv",
            HEADER + "u3,c1,b1,true,,abc,\n",
            r"user_enrolments\.csv, line 2, column status: cannot read 'abc'",
        ),
        (
            "user_enrolments.csv",
            HEADER + "u3,c1,b1,true,,99999999999,\n",
            r"user_enrolments\.csv, line 2, column status: .*out of range",
        ),
        (
            "user_enrolments.csv",
            HEADER + GOOD + "u2,c1,b1,true,,1,,extra\n",
            r"user_enrolments\.csv, line 3, column 8: 8 cells but the header has 7 columns",
        ),
        (
            "user_enrolments.csv",
            HEADER + "u2,c1,b1\n",
            r"user_enrolments\.csv, line 2, column active: 3 cells but the header has 7 columns",
        ),
        (
            "user_enrolments.csv",
            HEADER + 'u2,c1,b1,true,,1,"{\n""a"": 1}"\nu3,c1,b1,maybe,,1,\n',
            r"user_enrolments\.csv, line 4, column active: cannot read 'maybe' \(not true or false\)",
        ),
        (
            "user_enrolments.jsonl",
            '{"userid": "u1", "batchid": "b1"}\n{"userid": "u2", "enrolled_date": "yesterday"}\n',
            r"user_enrolments\.jsonl, line 2, column enrolled_date: cannot read 'yesterday'",
        ),
        (
            "user_enrolments.jsonl",
            '{"userid": "u1"}\n\n{"userid": "u2", "contentstatus": "{\\"a\\": }"}\n',
            r"user_enrolments\.jsonl, line 3, column contentstatus: .*invalid JSON",
        ),
        (
            "user_enrolments.jsonl",
            '{"userid": "u1"}\n{"userid": "u2", "status": 1.5}\n',
            r"user_enrolments\.jsonl, line 2, column status: .*not a whole number",
        ),
        (
            "user_enrolments.jsonl",
            '{"userid": "u1"}\n{"userid": "u2", "contentstatus": ["do_1"]}\n',
            r"user_enrolments\.jsonl, line 2, column contentstatus: .*not a map",
        ),
        (
            "user_enrolments.jsonl",
            '{"userid": "u1"}\n{"userid": "u2",\n',
            r"user_enrolments\.jsonl, line 2, character 17: not valid JSON",
        ),
        (
            "user_enrolments.jsonl",
            '{"userid": "u1"}\n["u2"]\n',
            r"user_enrolments\.jsonl, line 2: expected a JSON object",
        ),
        (
            "user_enrolments.jsonl",
            b'{"userid": "u1"}\n{"userid": "u\xff"}\n',
            r"user_enrolments\.jsonl, line 2: not UTF-8",
        ),
        (
            "content_hierarchy.csv",
            'identifier,hierarchy\nc1,"[1, 2]"\n',
            r"content_hierarchy\.csv, line 2, column hierarchy: .*not a JSON object",
        ),
    ],
)
def test_malformed_rows_name_the_file_line_and_column(
    tmp_path: Path, name: str, content: str | bytes, pattern: str
) -> None:
    tables = _folder_with(tmp_path, name, content)
    with pytest.raises(SourceDataError, match=f"^{pattern}"):
        tables.read(name.split(".")[0], {})


def test_malformed_parquet_value_names_the_row_and_column(tmp_path: Path) -> None:
    for table in ("course_batch", "content_hierarchy"):
        write_csv(tmp_path, table)
    data = pa.table({"userid": ["u1", "u2", "u3"], "batchid": ["b1"] * 3, "status": ["1", "2", "two"]})
    pq.write_table(data, tmp_path / "user_enrolments.parquet")
    with pytest.raises(
        SourceDataError, match=r"^user_enrolments\.parquet, line 3, column status: cannot read 'two'"
    ):
        FileTables(tmp_path).read("user_enrolments", {})
    (tmp_path / "user_enrolments.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(SourceDataError, match=r"^user_enrolments\.parquet: not a readable Parquet file"):
        FileTables(tmp_path).read("user_enrolments", {})


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2020-08-25T13:45:54.150Z", datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC)),
        ("2020-08-25 19:15:54.150+0530", datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC)),
        ("2020-08-25 13:45:54.150+0000", datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC)),
        ("2019-11-13 05:41:50:382+0000", datetime(2019, 11, 13, 5, 41, 50, 382000, tzinfo=UTC)),
        ("2020-08-25T19:15:54.150+05:30", datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC)),
        ("2019-11-16 05:41:50", datetime(2019, 11, 16, 5, 41, 50, tzinfo=UTC)),
        ("2020-01-20", datetime(2020, 1, 20, tzinfo=UTC)),
        ("1626327000000", datetime(2021, 7, 15, 5, 30, tzinfo=UTC)),
    ],
)
def test_timestamp_spellings(tmp_path: Path, text: str, instant: datetime) -> None:
    assert parse_timestamp(text) == instant
    for table in ("course_batch", "content_hierarchy"):
        write_csv(tmp_path, table)
    (tmp_path / "user_enrolments.csv").write_text(
        f"userid,batchid,completedon\nu1,b1,{text}\n", encoding="utf-8"
    )
    assert FileTables(tmp_path).read("user_enrolments", {}).column("completedon").to_pylist() == [instant]


def test_parquet_timestamps_are_truncated_to_milliseconds(tmp_path: Path) -> None:
    for table in ("course_batch", "content_hierarchy"):
        write_csv(tmp_path, table)
    micro = datetime(2020, 8, 25, 13, 45, 54, 150999, tzinfo=UTC)
    data = pa.table(
        {
            "userid": ["u1"],
            "batchid": ["b1"],
            "enrolled_date": pa.array([micro], type=pa.timestamp("ns", tz="Asia/Kolkata")),
            "completedon": pa.array(["2019-11-13 05:41:50:382+0000"]),
        }
    )
    pq.write_table(data, tmp_path / "user_enrolments.parquet")
    row = FileTables(tmp_path).read("user_enrolments", {"batchid": ["b1"]}).to_pylist()[0]
    assert row["enrolled_date"] == datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC)
    assert row["completedon"] == datetime(2019, 11, 13, 5, 41, 50, 382000, tzinfo=UTC)


def test_large_hierarchy_cell_in_csv(tmp_path: Path) -> None:
    write_csv(tmp_path, "course_batch")
    write_csv(tmp_path, "user_enrolments")
    tree = {
        "identifier": "c1",
        "children": [{"identifier": f"do_{i}", "name": "x" * 50} for i in range(5000)],
    }
    with (tmp_path / "content_hierarchy.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["identifier", "hierarchy"], ["c1", json.dumps(tree)]])
    assert (tmp_path / "content_hierarchy.csv").stat().st_size > 200_000
    assert len(Source(FileTables(tmp_path)).hierarchy("c1")["children"]) == 5000


def test_csv_with_byte_order_mark_and_spaced_header(tmp_path: Path) -> None:
    for table in ("course_batch", "content_hierarchy"):
        write_csv(tmp_path, table)
    (tmp_path / "user_enrolments.csv").write_bytes(
        "userid, batchid , active\r\nu1,b1,yes\r\nu2,b1,0\r\n".encode("utf-8-sig")
    )
    read = FileTables(tmp_path).read("user_enrolments", {})
    assert read.select(["userid", "batchid", "active"]).to_pylist() == [
        {"userid": "u1", "batchid": "b1", "active": True},
        {"userid": "u2", "batchid": "b1", "active": False},
    ]


def test_memory_tables_guard_their_inputs() -> None:
    tables = MemoryTables({"course_batch": pa.table({"batchid": ["b1", "b2"], "status": pa.array([1, 2])})})
    assert tables.read("course_batch", {}).schema == TABLES["course_batch"].schema
    assert tables.read("course_batch", {"batchid": ["b2"]}, columns=["status"]).to_pylist() == [{"status": 2}]
    with pytest.raises(TypeError, match="list of values"):
        tables.read("course_batch", {"batchid": "b1"})
    with pytest.raises(KeyError):
        MemoryTables({"courses": pa.table({"a": [1]})})


def test_parquet_filters_on_odd_column_types(tmp_path: Path) -> None:
    for table in ("course_batch", "content_hierarchy"):
        write_csv(tmp_path, table)
    data = pa.table(
        {
            "userid": pa.array([101, 102, 103], type=pa.int64()),  # ids written as numbers
            "batchid": pa.array(["b1", "b2", "b1"]).dictionary_encode(),
        }
    )
    pq.write_table(data, tmp_path / "user_enrolments.parquet")
    tables = FileTables(tmp_path)
    assert tables.read("user_enrolments", {"batchid": ["b1"]}).column("userid").to_pylist() == ["101", "103"]
    assert tables.read("user_enrolments", {"userid": ["102"]}, columns=["batchid"]).to_pylist() == [
        {"batchid": "b2"}
    ]
    assert tables.read("user_enrolments", {"courseid": ["c1"]}).num_rows == 0  # no such column in the file
    assert tables.read("user_enrolments", {"courseid": ["c1"]}).schema == TABLES["user_enrolments"].schema
