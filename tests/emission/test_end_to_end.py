"""cQube's sample emission data, sent by the real client through the real API and ingested.

Twice: into S3 (moto's server on loopback) and the real PostgreSQL, and on the embedded default (local
folders, SQLite). The district master and the DIKSHA TPD file are checked by hand against their CSVs.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import boto3
import httpx
import sqlalchemy as sa
from typer.testing import CliRunner

from exhaust.cli import app
from exhaust.emission.areas import open_areas
from exhaust.emission.tables import dispose_engines, metadata, open_cqube_engine
from exhaust.emission.tokens import Credentials
from exhaust.emission.worker import run
from exhaust.settings import Settings, get_settings
from tests.api.live import start_server
from tests.emission.conftest import SIGNING_SECRET
from tests.jobs.helpers import moto_s3

FOLDERS = [
    "district_master",
    "block_master",
    "cluster_master",
    "school_master",
    "school_management",
    "diksha",
]
SENT_IN_ORDER = [
    "district_master/district_mst", "block_master/block_mst", "cluster_master/cluster_mst",
    "school_master/school_mst", "school_management/school_management_master",
    "diksha/diksha_tpd_mapping", "diksha/diksha_tpd",
]  # fmt: skip


def emission_folder(mock_data: Path, tmp_path: Path) -> Path:
    root = tmp_path / "cqube_emission"
    for name in FOLDERS:
        shutil.copytree(mock_data / "test_data" / name, root / name)
    return root


def emit(folder: Path, url: str, token: str, log: Path) -> list[dict]:
    result = CliRunner().invoke(
        app, ["emit", f"{folder}/", "--url", f"{url}/data", "--token", token, "--log", str(log)]
    )
    # diksha_data_summary has no spec: reported and skipped, so the run is not a full success.
    assert result.exit_code == 1, result.output
    return [json.loads(line) for line in log.read_text().splitlines()]


def check_ingested(engine, lines: list[dict]) -> None:
    sent = [r for r in lines if r["status"] == "sent"]
    assert [r["key"].rsplit("_", 2)[0] for r in sent] == SENT_IN_ORDER
    assert [(r["key"], r["status"]) for r in lines if r["status"] != "sent"] == [
        ("diksha/diksha_data_summary.zip", "skipped")
    ]
    with engine.connect() as conn:
        summary = {
            row.emission_key: row
            for row in conn.execute(sa.text("SELECT * FROM log_summary WHERE emission_key IS NOT NULL"))
        }
        assert {r["key"] for r in sent} <= set(summary)
        by_source = {summary[r["key"]].data_source: summary[r["key"]] for r in sent}
        # district_mst.csv: a UDISE layout, CRLF, no final newline, 4 districts, nothing refused.
        district = by_source["district_mst"]
        assert (
            district.status,
            district.total_records,
            district.blank_lines,
            district.processed_records,
        ) == ("OK", 4, 0, 4)
        assert conn.execute(sa.text("SELECT district_id, district_name FROM district_mst ORDER BY 1")).all() == [
            (7501, "D1"), (7502, "D2"), (7503, "D3"), (7504, "D4")
        ]  # fmt: skip
        # diksha_tpd.csv: 22 learners, comma-delimited raw exhaust names, dd/MM/yyyy dates.
        tpd = by_source["diksha_tpd"]
        assert (tpd.status, tpd.total_records, tpd.duplicate_records, tpd.processed_records) == (
            "OK",
            22,
            0,
            22,
        )
        facts = conn.execute(
            sa.text(
                "SELECT count(*), sum(progress), sum(CASE WHEN certificate_status = 'Failed' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN certificate_status IS NULL THEN 1 ELSE 0 END) FROM diksha_tpd_trans"
            )
        ).one()
        assert tuple(facts) == (22, 646.0, 4, 1)
        first = conn.execute(
            sa.text(
                "SELECT collection_name, enrolment_date, completion_date, total_score FROM diksha_tpd_trans"
                " WHERE uuid = '1fb45997-f3e6-4e76-ae40-5b660ad7959d'"
            )
        ).one()
        assert (first[0], str(first[1]), str(first[2]), first[3]) == (
            "Class 5 Science",
            "2021-07-03",
            "2021-06-07",
            30.0,
        )
        assert conn.execute(sa.text("SELECT count(*) FROM school_master")).scalar() == 4800
        assert conn.execute(sa.text("SELECT count(*) FROM diksha_tpd_mapping")).scalar() == 4800


def test_sample_data_through_s3_into_postgresql(mock_data, tmp_path, pg_url):
    # moto keeps buckets per process, not per server: names of this test's own.
    suffix = uuid.uuid4().hex[:6]
    emission_bucket, input_bucket, output_bucket = (
        f"cqube-{n}-{suffix}" for n in ("emission", "input", "output")
    )
    with moto_s3(emission_bucket) as options:
        s3 = boto3.client(
            "s3", endpoint_url=options["endpoint_url"], aws_access_key_id="testing",
            aws_secret_access_key="testing", region_name="us-east-1",
        )  # fmt: skip
        for bucket in (input_bucket, output_bucket):
            s3.create_bucket(Bucket=bucket)
        values = {
            "data_dir": str(tmp_path / "data"),
            "db_url": pg_url,
            "signing_secret": SIGNING_SECRET,
            "emission_bucket_url": f"s3://{emission_bucket}",
            "emission_input_url": f"s3://{input_bucket}",
            "emission_output_url": f"s3://{output_bucket}",
            "emission_storage_options": json.dumps(options),
        }
        settings = Settings(**values)
        engine = open_cqube_engine(settings)
        token = Credentials(engine).create("state-data-team")
        server = start_server(values, tmp_path / "server.log")
        try:
            lines = emit(emission_folder(mock_data, tmp_path), server.url, token, tmp_path / "log.jsonl")
            areas = open_areas(settings)
            assert len(areas.emission.list()) == len(SENT_IN_ORDER)
            admin = {"Authorization": "Bearer " + Credentials(engine).create("console", admin=True)}
            base = f"{server.url}/data"
            buckets = httpx.get(f"{base}/list_s3_buckets", headers=admin).json()
            assert buckets == {"input": input_bucket, "output": output_bucket, "emission": emission_bucket}
            listed = httpx.post(
                f"{base}/list_s3_files", headers=admin, json={"bucket": emission_bucket}
            ).json()
            keys = [item["Key"] for item in listed["Contents"]]
            assert sorted(keys) == sorted(r["key"] for r in lines if r["status"] == "sent")
            links = httpx.post(
                f"{base}/download_uri", headers=admin, json={"bucket": emission_bucket, "filename": keys[:2]}
            )
            for key, link in links.json().items():
                assert (
                    httpx.get(link).content == s3.get_object(Bucket=emission_bucket, Key=key)["Body"].read()
                )
            done, failed = run(settings, once=True)
            assert (done, failed) == (len(SENT_IN_ORDER), 0)
            check_ingested(engine, lines)
            assert areas.emission.list() == []  # moved to the input area under cQube's partitioned keys
            inputs = areas.input.list()
            assert len(inputs) == len(SENT_IN_ORDER)
            assert all(key.split("/")[1].isdigit() and "_" in key.split("/")[3] for key in inputs)
            # Re-emitting the district master (one data-source folder) upserts again: no duplicates.
            district = emission_folder(mock_data, tmp_path / "again") / "district_master"
            again = emit_ok(district, server.url, token, tmp_path / "again.jsonl")
            assert [r["key"].rsplit("_", 2)[0] for r in again] == ["district_master/district_mst"]
            assert run(settings, once=True) == (1, 0)
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM district_mst")).scalar() == 4
                assert (
                    conn.execute(sa.text("SELECT count(*) FROM log_summary")).scalar()
                    == len(SENT_IN_ORDER) + 1
                )
        finally:
            server.stop()
            metadata.drop_all(engine)
            dispose_engines()


def test_sample_data_on_the_embedded_default(mock_data, tmp_path, local_api, credentials):
    token = credentials.create("laptop-team")
    lines = emit(emission_folder(mock_data, tmp_path), local_api.url, token, tmp_path / "log.jsonl")
    get_settings.cache_clear()
    run(local_api.settings, once=True)
    check_ingested(credentials.engine, lines)
    env = {"EXHAUST_DATA_DIR": str(local_api.settings.data_dir), "EXHAUST_DB_URL": local_api.settings.db_url}
    status = CliRunner(env=env).invoke(app, ["emission", "status", "--json"])
    get_settings.cache_clear()
    assert status.exit_code == 0
    rows = [json.loads(line) for line in status.stdout.splitlines()]
    assert {r["data_source"] for r in rows if r["status"] == "OK"} >= {"district_mst", "diksha_tpd"}


GRADES = (
    "school_id|grade|students_count\n"
    "1001|3|40\n"  # 2 ok
    "1001|4|forty\n"  # 3 students_count not an integer
    "|5|10\n"  # 4 school_id missing
    "1001|3|40\n"  # 5 exact duplicate of line 2
    "1002|3|10\n"  # 6 and 7: one key, two counts
    "1002|3|11\n"
)


def test_refused_rows_reach_the_error_file_and_the_status_endpoint_links_it(tmp_path, local_api, credentials):
    root = tmp_path / "cqube_emission"
    (root / "grade_details").mkdir(parents=True)
    (root / "grade_details" / "grade_details.csv").write_text(GRADES)
    lines = emit_ok(root, local_api.url, credentials.create("grades-team"), tmp_path / "log.jsonl")
    run(local_api.settings, once=True)
    key = lines[0]["key"]
    with credentials.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM log_summary WHERE emission_key = :k"), {"k": key}).one()
    assert (row.total_records, row.datatype_mismatch, row.count_of_null_rows, row.duplicate_records) == (
        6,
        1,
        1,
        3,
    )
    assert row.processed_records == 1 and row.status == "OK"
    assert row.error_file == row.input_key.rsplit(".", 1)[0] + "_errors.csv"
    admin = credentials.create("console", admin=True)
    answer = httpx.get(
        f"{local_api.url}/data/log_summary",
        headers={"Authorization": f"Bearer {admin}"},
        params={"data_source": "grade_details"},
    )
    entry = next(f for f in answer.json()["files"] if f["emission_key"] == key)
    assert entry["processed_records"] == 1 and entry["records_with_null_value"] == {
        "school_id": 1,
        "grade": 0,
    }
    error_csv = httpx.get(entry["error_file_url"]).text.splitlines()
    assert error_csv[0] == '"line","column","reason","value"'
    assert [line.split(",")[0] for line in error_csv[1:]] == ["3", "4", "5", "6", "7"]
    assert '"students_count","not an integer","forty"' in error_csv[1]


def emit_ok(folder: Path, url: str, token: str, log: Path) -> list[dict]:
    result = CliRunner().invoke(
        app, ["emit", str(folder), "--url", f"{url}/data", "--token", token, "--log", str(log)]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in log.read_text().splitlines()]
