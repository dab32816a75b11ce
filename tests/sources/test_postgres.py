"""The PostgreSQL source and `exhaust source copy`, against the real PostgreSQL server."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from exhaust.errors import ExhaustError, MissingTable, SourceDataError
from exhaust.reports.build import build_report
from exhaust.sources.base import Source
from exhaust.sources.cli import source_app
from exhaust.sources.failures import SourceUnavailable
from exhaust.sources.files import FileTables
from exhaust.sources.memory import MemoryTables
from exhaust.sources.postgres import PostgresTables, parse_postgres_spec
from exhaust.sources.postgres_copy import copy_tables
from exhaust.sources.schema import TABLES
from tests.cli_runner import invoke
from tests.sources.live_services import PG_URL, pg_schema
from tests.sources.sample_data import B1, B2, C1, write_sample


@pytest.fixture
def schema():
    with pg_schema() as name:
        yield name


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "files")


def copy_with_cli(folder: Path, schema: str, *extra: str):
    return invoke(source_app, ["copy", "--from", str(folder), "--to", f"{PG_URL}?schema={schema}", *extra])


def by_keys(table: pa.Table, name: str) -> pa.Table:
    return table.sort_by([(key, "ascending") for key in TABLES[name].keys])


def execute(*statements: str | sql.Composed) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def test_copy_creates_sunbird_typed_tables_and_reads_back_equal(sample: Path, schema: str) -> None:
    result = copy_with_cli(sample, schema)
    assert result.exit_code == 0, result.output
    assert f"{schema}.user_enrolments: 7 rows" in result.output
    files, pg = FileTables(sample), PostgresTables(PG_URL, schema)
    for name in TABLES:
        expected, got = by_keys(files.read(name, {}), name), by_keys(pg.read(name, {}), name)
        assert got.schema == TABLES[name].schema
        assert got.equals(expected), name
    with psycopg.connect(PG_URL) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'user_enrolments'",
                (schema,),
            ).fetchall()
        )
    assert types["completedon"] == "timestamp with time zone"
    assert types["contentstatus"] == "json"
    assert types["active"] == "boolean" and types["progress"] == "integer"


def test_same_report_bytes_from_files_and_postgres(sample: Path, schema: str, tmp_path: Path) -> None:
    assert copy_with_cli(sample, schema).exit_code == 0
    files = Source(FileTables(sample))
    postgres = Source(PostgresTables(PG_URL, schema))
    for batch_id in (B1, B2):
        build_report(files, "progress-exhaust", batch_id, tmp_path / f"{batch_id}-files.csv")
        build_report(postgres, "progress-exhaust", batch_id, tmp_path / f"{batch_id}-pg.csv")
        from_files = (tmp_path / f"{batch_id}-files.csv").read_bytes()
        assert from_files.count(b"\n") > 2
        assert (tmp_path / f"{batch_id}-pg.csv").read_bytes() == from_files


def test_other_batches_rows_are_never_fetched(sample: Path, schema: str, tmp_path: Path) -> None:
    """Every table becomes a view that fails (division by zero) on any row of another batch.

    The report of batch-1 still builds, byte for byte the same, so no such row left the server.
    """
    assert copy_with_cli(sample, schema).exit_code == 0
    allowed = {
        "course_batch": ("batchid", [B1]),
        "user_enrolments": ("batchid", [B1]),
        "user_activity_agg": ("context_id", [f"cb:{B1}"]),
        "assessment_aggregator": ("batch_id", [B1]),
        "user_consent": ("object_id", [C1]),
        "content_hierarchy": ("identifier", [C1]),
        "users": ("userid", ["u1", "u2", "u3", "u4", "u5"]),
    }
    for table, (column, values) in allowed.items():
        schema_of = TABLES[table].schema
        target = next(f.name for f in schema_of if f.name != column and pa.types.is_string(f.type))
        poisoned = []
        for name in TABLES[table].columns:
            if name == target:
                poisoned.append(
                    sql.SQL(
                        "CASE WHEN {c} = ANY({v}) THEN {k} ELSE (1 / (length({c}) * 0))::text END AS {k}"
                    ).format(c=sql.Identifier(column), v=sql.Literal(values), k=sql.Identifier(name))
                )
            else:
                poisoned.append(sql.Identifier(name))
        data = sql.Identifier(f"{table}_data")
        execute(
            sql.SQL("ALTER TABLE {}.{} RENAME TO {}").format(
                sql.Identifier(schema), sql.Identifier(table), data
            ),
            sql.SQL("CREATE VIEW {s}.{t} AS SELECT {cols} FROM {s}.{d}").format(
                s=sql.Identifier(schema), t=sql.Identifier(table), cols=sql.SQL(", ").join(poisoned), d=data
            ),
        )
    postgres = PostgresTables(PG_URL, schema)
    for table in allowed:  # the poison works: reading a whole table hits the other batch's rows
        with pytest.raises(SourceDataError, match="division by zero"):
            postgres.read(table, {})
    build_report(Source(postgres), "progress-exhaust", B1, tmp_path / "pg.csv")
    build_report(Source(FileTables(sample)), "progress-exhaust", B1, tmp_path / "files.csv")
    assert (tmp_path / "pg.csv").read_bytes() == (tmp_path / "files.csv").read_bytes()


def test_filters_and_columns_are_pushed_down(sample: Path, schema: str) -> None:
    assert copy_with_cli(sample, schema).exit_code == 0
    pg = PostgresTables(PG_URL, schema, fetch_size=2)  # several pages of the server-side cursor
    got = pg.read("user_enrolments", {"batchid": [B1]}, columns=["userid", "progress", "contentstatus"])
    assert got.column_names == ["userid", "progress", "contentstatus"]
    assert sorted(got.column("userid").to_pylist()) == ["u1", "u2", "u3", "u4", "u5"]
    both = pg.read("assessment_aggregator", {"course_id": [C1], "batch_id": [B1]})
    assert sorted(both.column("attempt_id").to_pylist()) == ["at1", "at2", "at3"]
    assert pg.read("user_enrolments", {"batchid": []}).num_rows == 0
    assert pg.read("users", {"userid": ["u1", "nobody"]}).column("firstname").to_pylist() == ["Manju"]


def test_copy_refuses_to_mix_data_sets_unless_replacing(sample: Path, schema: str) -> None:
    assert copy_with_cli(sample, schema).exit_code == 0
    again = copy_with_cli(sample, schema)
    assert again.exit_code == 1
    assert "already has rows; use --replace" in again.output
    assert "Traceback" not in again.output
    replaced = copy_with_cli(sample, schema, "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert PostgresTables(PG_URL, schema).read("course_batch", {}).num_rows == 2


def test_copy_keeps_the_first_row_of_a_repeated_key(schema: str) -> None:
    rows = pa.table({"batchid": ["b1", "b2", "b1"], "courseid": ["c1", "c2", "c-later"]})
    source = MemoryTables({"course_batch": rows})
    counts = copy_tables(
        source, PG_URL, schema, tables=["course_batch", "user_enrolments", "content_hierarchy"]
    )
    assert counts["course_batch"] == (2, 1)
    got = PostgresTables(PG_URL, schema).read("course_batch", {"batchid": ["b1"]})
    assert got.column("courseid").to_pylist() == ["c1"]


def test_a_row_without_its_key_is_refused(schema: str) -> None:
    source = MemoryTables({"course_batch": pa.table({"batchid": ["b1", None], "courseid": ["c1", "c2"]})})
    with pytest.raises(SourceDataError, match="course_batch has 1 row\\(s\\) without batchid"):
        copy_tables(source, PG_URL, schema, tables=["course_batch"])


def test_tables_made_by_other_means_are_read(schema: str) -> None:
    """Sunbird's older column names, jsonb, text[] and timestamp batch dates, and absent columns."""
    s = sql.Identifier(schema)
    execute(
        sql.SQL("CREATE SCHEMA {}").format(s),
        sql.SQL(
            "CREATE TABLE {}.course_batch (courseid text, batchid text, name text, start_date timestamptz, "
            "startdate text, createdfor text[], enrollmenttype text, mentors jsonb, status bigint)"
        ).format(s),
        sql.SQL(
            "INSERT INTO {}.course_batch VALUES ('c1', 'b1', 'B', '2020-01-20 00:00:00+00', '2020-01-19', "
            "ARRAY['o1','o2'], 'invite-only', '[\"m1\"]', 1)"
        ).format(s),
        sql.SQL(
            "CREATE TABLE {}.user_activity_agg (activity_type text, activity_id text, user_id text, "
            "context_id text, agg jsonb)"
        ).format(s),
        sql.SQL(
            "INSERT INTO {}.user_activity_agg VALUES ('Course', 'c1', 'u1', 'cb:b1', '{{\"completedCount\": 3}}')"
        ).format(s),
        sql.SQL(
            "CREATE TABLE {}.user_enrolments (userid text, courseid text, batchid text, enrolled_date timestamp)"
        ).format(s),
        sql.SQL(
            "INSERT INTO {}.user_enrolments VALUES ('u1', 'c1', 'b1', '2020-01-21 10:00:00.123456')"
        ).format(s),
        sql.SQL("CREATE TABLE {}.content_hierarchy (identifier text, hierarchy jsonb)").format(s),
    )
    pg = PostgresTables(PG_URL, schema)
    batch = pg.read("course_batch", {"batchid": ["b1"]}).to_pylist()[0]
    assert batch["start_date"] == "2020-01-20"
    assert batch["created_for"] == ["o1", "o2"]
    assert batch["mentors"] == ["m1"]
    assert batch["enrollment_type"] == "invite-only"
    assert batch["end_date"] is None
    agg = pg.read("user_activity_agg", {"context_id": ["cb:b1"]}).to_pylist()[0]
    assert agg["aggregates"] == [("completedCount", 3.0)]
    enrolled = pg.read("user_enrolments", {"batchid": ["b1"]}).to_pylist()[0]
    assert enrolled["enrolled_date"].isoformat() == "2020-01-21T10:00:00.123000+00:00"
    assert pg.read("user_consent", {"object_id": ["c1"]}).num_rows == 0  # absent optional table


def test_missing_required_table_is_a_clear_error(schema: str) -> None:
    execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    with pytest.raises(MissingTable, match=f"schema {schema} has no course_batch table"):
        PostgresTables(PG_URL, schema).read("course_batch", {"batchid": ["b1"]})


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    url, schema = parse_postgres_spec("postgresql://me:s3cret@127.0.0.1:1/db?schema=x&connect_timeout=2")
    assert schema == "x"
    with pytest.raises(SourceUnavailable) as caught:
        PostgresTables(url, schema).read("course_batch", {"batchid": ["b1"]})
    assert "cannot connect to PostgreSQL at postgresql://me:***@127.0.0.1:1/db" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_copy_to_a_non_postgres_target_is_a_one_line_error(sample: Path) -> None:
    result = invoke(source_app, ["copy", "--from", str(sample), "--to", "files:/tmp/x"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("--to must be a PostgreSQL URL")
    assert len(result.output.strip().splitlines()) == 1


def test_upstream_fixture_copied_to_postgres_gives_the_same_reports(
    sunbird_fixtures: Path, schema: str, tmp_path: Path
) -> None:
    """Sunbird's own test data (report_data.cql and the suite's Redis users), files-side vs PostgreSQL."""
    from exhaust.sources.sunbird_fixture import load_sunbird_test_fixture

    fixture = load_sunbird_test_fixture(sunbird_fixtures, "TestProgressExhaustJob.scala")
    counts = copy_tables(fixture.tables, PG_URL, schema)
    assert counts["user_enrolments"][0] > 0 and counts["users"][0] > 0
    # The same content search as the fixture (it knows which collections are retired); tables differ.
    postgres = Source(PostgresTables(PG_URL, schema), search=fixture.search_store)
    for name in TABLES:
        assert by_keys(postgres.tables.read(name, {}), name).equals(
            by_keys(fixture.tables.read(name, {}), name)
        )
    built = 0
    for batch_id in sorted(fixture.tables.read("course_batch", {}).column("batchid").to_pylist()):
        try:
            build_report(fixture, "progress-exhaust", batch_id, tmp_path / f"{batch_id}-fixture.csv")
        except ExhaustError as exc:  # e.g. a course without a hierarchy row: the same error from PostgreSQL
            with pytest.raises(type(exc), match=re.escape(str(exc))):
                build_report(postgres, "progress-exhaust", batch_id, tmp_path / f"{batch_id}-pg.csv")
            continue
        build_report(postgres, "progress-exhaust", batch_id, tmp_path / f"{batch_id}-pg.csv")
        expected = (tmp_path / f"{batch_id}-fixture.csv").read_bytes()
        assert (tmp_path / f"{batch_id}-pg.csv").read_bytes() == expected
        built += expected.count(b"\n") - 1
    assert built >= 4


def test_a_locked_table_fails_the_read_instead_of_hanging(sample: Path, schema: str) -> None:
    assert copy_with_cli(sample, schema).exit_code == 0
    with psycopg.connect(PG_URL) as locker:  # a reload in progress holds the table
        locker.execute(
            sql.SQL("LOCK TABLE {}.user_enrolments IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(schema))
        )
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="lock timeout"):
            PostgresTables(PG_URL, schema, lock_timeout=0.5).read("user_enrolments", {"batchid": [B1]})
        assert time.monotonic() - started < 5
        locker.rollback()
