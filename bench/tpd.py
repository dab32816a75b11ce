"""Bench: the TPD feed's local work on one large batch file: normalise, ingest, aggregate, write the JSON.

A Sunbird Lern layout progress CSV of N learners (spread over 1,000 schools of 10 districts, 3 courses) is
normalised to cQube's 12 columns, ingested with the emission ingestion into PostgreSQL, then
`diksha_tpd_agg` is rebuilt and the report JSON written. Usage:

    python bench/tpd.py [--learners 100000] [--db-url postgresql://…]

Without --db-url the cQube tables go to PostgreSQL's `test` database in a schema of their own (dropped
afterwards). Prints one JSON object: seconds per phase and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from exhaust.emission.ingest import ingest_csv
from exhaust.emission.tables import ensure_tables
from exhaust.jobs.db import make_engine
from exhaust.outputs.storage import Storage
from exhaust.tpd import aggregate, reports
from exhaust.tpd.normalise import TPD_SCHEMA, read_normalised

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def progress_csv(path: Path, learners: int) -> None:
    rng = np.random.default_rng(7)
    users = np.array([f"u{i:07d}" for i in range(learners)])
    day = rng.integers(1, 29, learners)
    progress = rng.integers(0, 101, learners)
    table = pa.table(
        {
            "Collection Id": pa.array(np.array(["do_c1", "do_c2", "do_c3"])[rng.integers(0, 3, learners)]),
            "Collection Name": pa.array(["Course"] * learners),
            "Batch Id": pa.array(["BatchId_0130"] * learners),
            "Batch Name": pa.array(["Batch"] * learners),
            "User UUID": pa.array(users),
            "State": pa.array(["State"] * learners),
            "District": pa.array(["D"] * learners),
            "Org Name": pa.array(["Org"] * learners),
            "Enrolment Date": pa.array([f"{d:02d}/11/2026" for d in day]),
            "Completion Date": pa.array([""] * learners),
            "Certificate Status": pa.array(np.where(progress == 100, "Issued", "")),
            "Progress": pa.array(progress.astype(str)),
            "Total Score": pa.array([f"{s}%" for s in rng.integers(0, 101, learners)]),
        }
    )
    pacsv.write_csv(table, path)


def masters(engine: sa.Engine, folder: Path, learners: int) -> None:
    schools = [(7500000000 + i, i // 100) for i in range(1000)]
    files = {
        "district_mst": "DistrictId|District\n" + "".join(f"{d}|D{d}\n" for d in range(10)),
        "block_mst": "BlockId|Block|DistrictId\n" + "".join(f"{d}|B{d}|{d}\n" for d in range(10)),
        "cluster_mst": "ClusterId|Cluster|BlockId|DistrictId\n"
        + "".join(f"{d}|C{d}|{d}|{d}\n" for d in range(10)),
        "school_mst": "SchoolId|School|lowclass|highclass|SchMgt|SchCat|SchoolMedium|StateId|DistrictId|BlockId|"
        "ClusterId|Latitude|Longitude\n"
        + "".join(f"{s}|S{s}|1|8|1|1|1|1|{d}|{d}|{d}|15.1|73.9\n" for s, d in schools),
        "diksha_tpd_mapping": "Diksha UUID,State,District,School Name,School UDISE ID,Status\n"
        + "".join(f"u{i:07d},S,D,S,{schools[i % 1000][0]},SUBMITTED\n" for i in range(learners)),
    }
    for name, text in files.items():
        path = folder / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        result = ingest_csv(engine, name, path)
        assert result.status == "OK", result.reason


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--db-url", default="")
    args = parser.parse_args()
    schema = None
    url = args.db_url
    if not url:
        schema = f"bench_tpd_{uuid.uuid4().hex[:8]}"
        with make_engine(PG_BASE).begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    ensure_tables(engine)
    figures: dict[str, float | int] = {"learners": args.learners}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            raw = work / "0130_progress_20261201.csv"
            progress_csv(raw, args.learners)
            masters(engine, work, args.learners)
            started = time.perf_counter()
            normalised = work / "diksha_tpd_api_0130.csv"
            with pacsv.CSVWriter(normalised, TPD_SCHEMA) as writer:
                for batch in read_normalised(raw):
                    writer.write_batch(batch)
            figures["normalise_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            result = ingest_csv(engine, "diksha_tpd", normalised)
            assert result.status == "OK", result.reason
            figures["ingest_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            counts = aggregate.rebuild(engine, "Asia/Kolkata")
            figures["aggregate_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            keys = reports.publish_reports(engine, Storage(str(work / "out")))
            figures["reports_s"] = round(time.perf_counter() - started, 2)
            figures.update(agg_rows=counts["agg_rows"], report_files=len(keys))
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(figures))
    finally:
        engine.dispose()
        if schema:
            with make_engine(PG_BASE).begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
