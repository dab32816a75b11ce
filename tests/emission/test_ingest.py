"""The ingestion core: cQube's counts, the error file and the upsert, on SQLite and the real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
import sqlalchemy as sa

from exhaust.emission.ingest import KO, OK, ingest_arrow, ingest_csv
from exhaust.emission.tables import dispose_engines, ensure_tables, metadata
from exhaust.jobs.db import make_engine

#: A hand-checked state-layout district file: every kind of refused row once (line numbers in comments).
DISTRICTS = (
    "DistrictId|District|Extra\n"  # 1 header (Extra is ignored)
    "1|One|x\n"  # 2 ok
    "\n"  # 3 blank
    "2|Two|y\n"  # 4 ok
    "abc|Bad|z\n"  # 5 type mismatch: DistrictId not an integer
    "3||w\n"  # 6 District missing
    "2|Two|other\n"  # 7 exact duplicate of line 4 (on the selected columns)
    "4|Four|a\n"  # 8 id 4 with two different names: both refused
    "4|Fore|b\n"  # 9
    "5|Five\n"  # 10 two fields where the header has three: type mismatch
    "6| Six |q\n"  # 11 ok (pipe files are trimmed)
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cqube.sqlite3'}" if request.param == "sqlite" else None
    if url is None:
        url = request.getfixturevalue("pg_url").replace("postgresql://", "postgresql+psycopg://")
    eng = make_engine(url)
    ensure_tables(eng)
    yield eng
    metadata.drop_all(eng)  # the PostgreSQL schema is shared by the session
    eng.dispose()
    dispose_engines()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def table_rows(engine, table: str, order: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}"))]


def test_counts_as_cqube_counts_them_and_every_refused_row_is_in_the_error_file(engine, tmp_path):
    errors = tmp_path / "out" / "district_errors.csv"
    result = ingest_csv(
        engine, "district_mst", write(tmp_path / "district_mst.csv", DISTRICTS), error_path=errors
    )
    s = result.summary()
    assert result.status == OK and result.counts.variant == "state"
    assert (s["total_records"], s["blank_lines"], s["datatype_mismatch"]) == (10, 1, 2)
    assert s["records_with_null_value"] == {"district_id": 0, "district_name": 1}
    assert (s["count_of_null_rows"], s["duplicate_records"], s["processed_records"]) == (1, 3, 3)
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("SELECT district_id, district_name FROM district_mst ORDER BY 1")).all()
        logged = conn.execute(sa.text("SELECT status, processed_records FROM log_summary")).all()
    assert [tuple(r) for r in loaded] == [(1, "One"), (2, "Two"), (6, "Six")]
    assert [tuple(r) for r in logged] == [("OK", 3)]
    refused = pacsv.read_csv(errors).to_pylist()
    by_line = {(r["line"], r["column"]): r["reason"] for r in refused}
    assert by_line == {
        (5, "districtid"): "not an integer",
        (6, "district"): "mandatory value missing",
        (7, "(all columns)"): "exact duplicate of line 4",
        (8, "district_id"): "key 4 appears on 2 lines with different values (first line 8)",
        (9, "district_id"): "key 4 appears on 2 lines with different values (first line 8)",
        (10, ""): "2 fields where the header has 3",
    }
    assert {r["value"] for r in refused if r["line"] == 5} == {"abc"}


def test_re_emitting_upserts_without_duplicates(engine, tmp_path):
    first = write(tmp_path / "district_mst.csv", "DistrictId|District\n1|One\n2|Two\n")
    second = write(tmp_path / "district_mst2.csv", "districtid|DISTRICT\n2|Two renamed\n3|Three\n")
    ingest_csv(engine, "district_mst", first)
    ingest_csv(engine, "district_mst", first)
    result = ingest_csv(engine, "district_mst", second)
    assert result.counts.processed_records == 2
    names = [(r[0], r[1]) for r in table_rows(engine, "district_mst", "district_id")]
    assert names == [(1, "One"), (2, "Two renamed"), (3, "Three")]


def test_wrong_delimiter_and_missing_column_reject_the_whole_file(engine, tmp_path):
    errors = tmp_path / "a_errors.csv"
    comma = ingest_csv(
        engine, "district_mst", write(tmp_path / "a.csv", "DistrictId,District\n1,One\n"), error_path=errors
    )
    assert comma.status == KO
    assert comma.reason == "the file is comma (,)-delimited; district_mst files must be pipe (|)-delimited"
    assert pacsv.read_csv(errors).to_pylist() == [
        {"line": 1, "column": None, "reason": comma.reason, "value": None}
    ]
    missing = ingest_csv(engine, "block_mst", write(tmp_path / "b.csv", "BlockId|DistrictId\n1|2\n"))
    assert missing.status == KO and "missing block" in missing.reason
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM block_mst")).scalar() == 0
        statuses = conn.execute(sa.text("SELECT status FROM log_summary")).scalars().all()
    assert statuses == ["KO", "KO"]


def test_the_udise_layout_and_raw_diksha_tpd_rows_as_arrow(engine, tmp_path):
    udise = "block_name|udise_block_code|udise_dist_code|udise_state_code\nB1|750101|7501|75\n"
    result = ingest_csv(engine, "block_mst", write(tmp_path / "block_mst.csv", udise))
    assert result.counts.variant == "udise"
    assert [r[:3] for r in table_rows(engine, "block_mst", "block_id")] == [(750101, "B1", 7501)]
    tpd = pa.table(
        {
            "collection_id": ["do_1", "do_1", None],
            "collection_name": ["Course", "Course", "Course"],
            "state": ["S", "S", "S"],
            "enrolment_date": ["03/07/2021", "2021-07-04", "2021-07-05"],
            "batch_id": ["b1", "b1", "b1"],
            "batch_name": ["B", "B", "B"],
            "completion_date": [None, None, None],
            "certificate_status": ["Issued", None, None],
            "org_name": ["Org", "Org", "Org"],
            "progress": ["100", "40", "10"],
            "total_score": ["30%", None, None],
            "uuid": ["u1", "u2", "u3"],
        }
    )
    result = ingest_arrow(engine, "diksha_tpd", tpd, filename="diksha_tpd_api_b1.csv")
    assert result.counts.records_with_null_value == {"collection_id": 1, "uuid": 0}
    assert result.counts.processed_records == 2
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT uuid, enrolment_date, progress, total_score FROM diksha_tpd_trans ORDER BY uuid")
        ).all()
    assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
        ("u1", "2021-07-03", 100.0, 30.0),
        ("u2", "2021-07-04", 40.0, None),
    ]
