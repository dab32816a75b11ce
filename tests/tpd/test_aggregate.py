"""diksha_tpd_agg and the report views/JSON on hand-checked rows (the table in tests/tpd/data.py).

Agg rows (collection × school × enrolment date), T = today in the configured zone:
  C1 S1 T     : t1 100 (Issued), t2 25 → mean 62.5, enrolled 2, completed 1, certificates 1
  C1 S2 T-3   : t3 50          C1 S3 T-20 : t4 75          C1 9999 T-100 : t5 0 (unmapped)
  C2 S1 T-3   : t1 50          C2 S2 T-40 : t3 100 (completed)
Teachers (mapped to a school of the masters): S1 2, S2 1, S3 2 (t4, t6) → D1 3, D2 2.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from exhaust.emission.tables import ensure_tables
from exhaust.jobs.db import make_engine
from exhaust.outputs.storage import Storage
from exhaust.tpd import aggregate, reports
from tests.tpd.data import BATCH_IDS_CSV, C1, C2, MAPPING_CSV, MASTERS, emit

ZONE = "Asia/Kolkata"
D1, D2 = 7501, 7502


def tpd_csv(today) -> str:
    from datetime import timedelta

    def d(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    header = "collection_id,collection_name,state,enrolment_date,batch_id,batch_name,completion_date,certificate_status,org_name,progress,total_score,uuid"
    rows = [
        f"{C1},Course One,Test State,{d(0)},B1,Batch One,{d(0)},Issued,,100,,t1",
        f"{C1},Course One,Test State,{d(0)},B1,Batch One,,,,25,,t2",
        f"{C1},Course One,Test State,{d(3)},B1,Batch One,,,,50,,t3",
        f"{C1},Course One,Test State,{d(20)},B1,Batch One,,,,75,,t4",
        f"{C1},Course One,Test State,{d(100)},B1,Batch One,,,,0,,t5",
        f"{C2},Course Two,Test State,{d(3)},B2,Batch Two,,,,50,,t1",
        f"{C2},Course Two,Test State,{d(40)},B2,Batch Two,,,,100,,t3",
    ]
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url").replace("postgresql://", "postgresql+psycopg://")
        # a schema of our own inside the session schema's database, so the cQube names do not collide
        schema = f"tpd_{uuid.uuid4().hex[:8]}"
        base = url.split("?")[0]
        admin = make_engine(base)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        found = make_engine(f"{base}?options=-csearch_path%3D{schema}")
    else:
        found = make_engine(f"sqlite:///{tmp_path / 'cqube.sqlite3'}")
    ensure_tables(found)
    today = datetime.now(ZoneInfo(ZONE)).date()
    statuses = emit(
        found, tmp_path / "emitted",
        {**MASTERS, "diksha_tpd_mapping": MAPPING_CSV, "diksha_api_progress_exhaust_batch_ids": BATCH_IDS_CSV,
         "diksha_tpd": tpd_csv(today)},
    )  # fmt: skip
    assert set(statuses.values()) == {"OK"}, statuses
    yield found
    if request.param == "postgres":
        found.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def r1(files: dict, level: str, time_range: str, collection: str) -> dict:
    return {row[f"{level}_id"]: row for row in files[f"diksha_tpd/{level}/{time_range}.json"]["data"]
            if row["collection_id"] == collection}  # fmt: skip


def test_agg_rows_and_school_mapping(engine) -> None:
    counts = aggregate.rebuild(engine, ZONE)
    assert counts == {
        "agg_rows": 6,
        "learners_mapped": 4,
        "learners_unmapped": 1,
        "learners_unknown_school": 0,
    }
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(aggregate.diksha_tpd_agg).order_by("collection_id", "school_id")
        ).mappings().all()  # fmt: skip
    got = [(r["collection_id"], r["school_id"], r["collection_progress"], r["total_enrolled"],
            r["total_completed"], r["certificate_count"]) for r in rows]  # fmt: skip
    assert got == [
        (C1, 9999, 0.0, 1, 0, 0),
        (C1, 75010101001, 62.5, 2, 1, 1),
        (C1, 75010201001, 50.0, 1, 0, 0),
        (C1, 75020301001, 75.0, 1, 0, 0),
        (C2, 75010101001, 50.0, 1, 0, 0),
        (C2, 75010201001, 100.0, 1, 1, 0),
    ]
    others = next(r for r in rows if r["school_id"] == 9999)
    assert (others["school_name"], others["district_id"], others["district_name"]) == (
        "Others",
        9999,
        "Others",
    )


def test_report1_per_district_and_school(engine) -> None:
    aggregate.rebuild(engine, ZONE)
    files = reports.report_files(engine)
    every = r1(files, "district", "All", C1)
    assert every[D1]["total_enrolled"] == 3 and every[D1]["total_completed"] == 1
    assert every[D1]["certificate_count"] == 1
    assert every[D1]["collection_progress"] == 58.3  # (100 + 25 + 50) / 3
    assert every[D1]["percentage_teachers"] == 100.0  # 3 enrolled of 3 teachers
    assert every[D2]["collection_progress"] == 75.0 and every[D2]["percentage_teachers"] == 50.0
    assert every[9999]["district_name"] == "Others" and every[9999]["percentage_teachers"] is None
    last_day = r1(files, "district", "Last_Day", C1)
    assert set(last_day) == {D1} and last_day[D1]["total_enrolled"] == 2
    assert last_day[D1]["collection_progress"] == 62.5 and last_day[D1]["percentage_teachers"] == 66.7
    week = r1(files, "district", "Last_7_Day", C1)
    assert set(week) == {D1} and week[D1]["total_enrolled"] == 3
    month = r1(files, "district", "Last_30_Day", C1)
    assert set(month) == {D1, D2}
    c2 = r1(files, "district", "All", C2)
    assert c2[D1]["collection_progress"] == 75.0 and c2[D1]["percentage_teachers"] == 66.7
    assert r1(files, "district", "Last_7_Day", C2)[D1]["percentage_teachers"] == 33.3
    school = r1(files, "school", "All", C1)[75010101001]
    assert school["school_name"] == "S1" and school["cluster_id"] == 75010101 and school["district_id"] == D1
    assert school["collection_progress"] == 62.5 and school["percentage_teachers"] == 100.0


def test_cqube_compatibility_keeps_the_mean_of_means(engine) -> None:
    aggregate.rebuild(engine, ZONE, cqube_compat=True)
    files = reports.report_files(engine, cqube_compat=True)
    assert r1(files, "district", "All", C1)[D1]["collection_progress"] == 56.3  # mean of 62.5 and 50
    # report 2's last_day is yesterday in cQube: nobody enrolled yesterday
    assert files["diksha_tpd/report2/last_day/district/all_collections.json"]["data"] == []


def test_report2_files_and_footers(engine) -> None:
    aggregate.rebuild(engine, ZONE)
    files = reports.report_files(engine)
    overall = files["diksha_tpd/report2/overall/district/all_collections.json"]
    by_key = {(r["district_id"], r["collection_id"]): r for r in overall["data"]}
    assert by_key[(D1, C1)]["total_enrolled"] == 3 and by_key[(D1, C1)]["percentage_completion"] == 33.3
    assert by_key[(D1, C2)]["total_completed"] == 1 and by_key[(D1, C2)]["percentage_completion"] == 50.0
    assert overall["footer"] == {"total_completed": 2, "total_enrolled": 7}
    every = {r["district_id"]: r for r in files["diksha_tpd/report2/overall/district/all.json"]["data"]}
    assert (every[D1]["total_enrolled"], every[D1]["total_completed"], every[D1]["certificate_count"]) == (
        5,
        2,
        1,
    )
    assert every[D1]["percentage_completion"] == 40.0
    last_day = files["diksha_tpd/report2/last_day/district/all_collections.json"]["data"]
    assert [(r["district_id"], r["total_enrolled"], r["total_completed"]) for r in last_day] == [(D1, 2, 1)]
    blocks = files[f"diksha_tpd/report2/overall/block/all_collections/{D1}.json"]["data"]
    assert sorted((r["block_id"], r["collection_id"], r["total_enrolled"]) for r in blocks) == [
        (750101, C1, 2), (750101, C2, 1), (750102, C1, 1), (750102, C2, 1),
    ]  # fmt: skip


def test_views_answer_sql_and_files_are_published(engine, tmp_path: Path) -> None:
    aggregate.rebuild(engine, ZONE)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT total_enrolled, collection_progress FROM diksha_tpd_district_wise "
            "WHERE time_range = 'All' AND district_id = 7501 AND collection_id = :c"), {"c": C1}).one()  # fmt: skip
    assert (int(row[0]), float(row[1])) == (3, 58.3)
    storage = Storage(str(tmp_path / "out"))
    keys = reports.publish_reports(engine, storage, prefix="cqube")
    assert "cqube/diksha_tpd/district/All.json" in keys
    assert (tmp_path / "out" / "cqube/diksha_tpd/school/Last_7_Day.json").is_file()


def test_report2_against_expected_enrolment_when_it_is_known(engine) -> None:
    """cQube's table of expected enrolments (what a diksha_enrolment file becomes), made by hand here:
    Course One expects 6 teachers of D1 (running from T-10 to T+20), Course Two 4 (T-60 to T-50)."""
    from datetime import timedelta

    aggregate.rebuild(engine, ZONE)
    assert reports.report_files(engine)["diksha_tpd/report2/course_enrolment_meta.json"] == {
        "expected_data": False
    }
    today = datetime.now(ZoneInfo(ZONE)).date()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE diksha_tpd_expected_enrollment (collection_id TEXT, district_id BIGINT, "
            "expected_enrollment BIGINT, course_start_date DATE, course_end_date DATE)"
        )
        conn.execute(
            sa.text("INSERT INTO diksha_tpd_expected_enrollment VALUES (:c, :d, :n, :s, :e)"),
            [
                {"c": C1, "d": D1, "n": 6, "s": today - timedelta(days=10), "e": today + timedelta(days=20)},
                {"c": C2, "d": D1, "n": 4, "s": today - timedelta(days=60), "e": today - timedelta(days=50)},
            ],
        )
    files = reports.report_files(engine, timezone=ZONE)
    assert files["diksha_tpd/report2/course_enrolment_meta.json"] == {"expected_data": True}
    overall = {(r["district_id"], r["collection_id"]): r
               for r in files["diksha_tpd/report2/overall/district/all_collections.json"]["data"]}  # fmt: skip
    c1 = overall[(D1, C1)]
    assert (c1["expected_total_enrolled"], c1["total_enrolled_percentage"]) == (6, 50.0)  # 3 of 6
    assert (c1["expected_completion_percentage"], c1["certificate_percentage"]) == (16.7, 16.7)  # 1 of 6
    assert c1["percentage_completion"] == 33.3  # completed of enrolled stays as it was
    assert overall[(D1, C2)]["expected_completion_percentage"] == 25.0  # 1 of 4
    assert "expected_total_enrolled" not in overall[(D2, C1)]  # nothing expected there
    every = {r["district_id"]: r for r in files["diksha_tpd/report2/overall/district/all.json"]["data"]}
    assert (every[D1]["expected_total_enrolled"], every[D1]["total_enrolled_percentage"]) == (10, 50.0)
    month = {(r["district_id"], r["collection_id"]): r
             for r in files["diksha_tpd/report2/last_30_days/district/all_collections.json"]["data"]}  # fmt: skip
    assert month[(D1, C1)]["expected_total_enrolled"] == 6
    assert "expected_total_enrolled" not in month[(D1, C2)]  # Course Two ran outside the last 30 days
    compat = reports.report_files(engine, cqube_compat=True, timezone=ZONE)
    row = next(r for r in compat["diksha_tpd/report2/overall/district/all_collections.json"]["data"]
               if (r["district_id"], r["collection_id"]) == (D1, C1))  # fmt: skip
    assert row["percentage_completion"] == 16.7  # cQube's district figure: completed of expected
