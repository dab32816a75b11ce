"""Bench: a 1,000,000-row school_master and a 1,000,000-row diksha_tpd file, emitted and ingested (SPEC §7).

Each file is written as cQube's emission zip (school master pipe-delimited, state layout; TPD the raw
progress-exhaust CSV, comma, dd/MM/yyyy dates), sent by the client through a real `exhaust serve` (local
emission area), then ingested by `exhaust emission ingest --once` in its own process: its wall time and
peak RSS are the figures (target ≤ 30 s and ≤ 1 GB per file). A second, in-process pass times the
phases (read + checks, upsert) on a fresh schema. A few rows of each file are bad on purpose so the
refused-row paths run. Usage:

    python bench/emission.py [--rows 1000000] [--db-url postgresql://postgres@127.0.0.1:5432/test]

Without --db-url the cQube tables are in a SQLite file (the embedded default). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))


#: `exhaust emission ingest --once` in a process that prints its own peak RSS (KiB) last on stderr.
INGEST_ONCE = """
import resource, sys
from exhaust.cli import app
try:
    app(["emission", "ingest", "--once"], standalone_mode=False)
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def school_csv(path: Path, rows: int) -> None:
    ids = np.arange(rows, dtype=np.int64) + 10_000_000_000
    rng = np.random.default_rng(7)
    table = pa.table(
        {
            "SchoolId": pa.array(ids).cast(pa.string()),
            "School": pa.array(np.char.add("School ", (ids % 100_000).astype(str))),
            "lowclass": pa.array(np.ones(rows, dtype=np.int64)).cast(pa.string()),
            "highclass": pa.array(np.full(rows, 8, dtype=np.int64)).cast(pa.string()),
            "SchMgt": pa.array(rng.integers(1, 8, rows)).cast(pa.string()),
            "SchCat": pa.array(rng.integers(1, 12, rows)).cast(pa.string()),
            "SchoolMedium": pa.array(rng.integers(1, 5, rows)).cast(pa.string()),
            "StateId": pa.array(np.full(rows, 75)).cast(pa.string()),
            "DistrictId": pa.array(7500 + ids % 40).cast(pa.string()),
            "BlockId": pa.array(750000 + ids % 400).cast(pa.string()),
            "ClusterId": pa.array(75000000 + ids % 4000).cast(pa.string()),
            "Latitude": pa.array(rng.uniform(10, 30, rows).round(6)).cast(pa.string()),
            "Longitude": pa.array(rng.uniform(70, 90, rows).round(6)).cast(pa.string()),
        }
    )
    bad = pa.table({name: pa.array(["x"] * 10) for name in table.column_names})  # type mismatches
    pacsv.write_csv(
        pa.concat_tables([table, bad]), path, pacsv.WriteOptions(delimiter="|", quoting_style="none")
    )


def tpd_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(11)
    learners = np.arange(rows)
    day = rng.integers(1, 28, rows)
    month = rng.integers(1, 12, rows)
    date = np.char.add(
        np.char.add(np.char.zfill(day.astype(str), 2), "/"), np.char.zfill(month.astype(str), 2)
    )
    table = pa.table(
        {
            "Collection Id": pa.array(np.char.add("do_course_", (learners % 50).astype(str))),
            "Collection Name": pa.array(np.char.add("Course ", (learners % 50).astype(str))),
            "Batch Id": pa.array(np.char.add("0130", (learners % 200).astype(str))),
            "Batch Name": pa.array(np.char.add("Batch ", (learners % 200).astype(str))),
            "User UUID": pa.array(np.char.add("user-", learners.astype(str))),
            "State": pa.array(np.full(rows, "Test State")),
            "District": pa.array(np.char.add("D", (learners % 40).astype(str))),
            "Org Name": pa.array(np.char.add("Org ", (learners % 900).astype(str))),
            "Enrolment Date": pa.array(np.char.add(date, "/2021")),
            "Completion Date": pa.array(np.char.add(date, "/2022")),
            "Certificate Status": pa.array(np.where(learners % 3 == 0, "Issued", "")),
            "Progress": pa.array(rng.integers(0, 101, rows)).cast(pa.string()),
            "Total Score": pa.array(np.char.add(rng.integers(0, 101, rows).astype(str), "%")),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(delimiter=",", quoting_style="needed"))


def zipped(csv_path: Path, zip_path: Path) -> Path:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.write(csv_path, csv_path.name)
    return zip_path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db-url", default="")
    args = parser.parse_args()

    from tests.api.live import start_server

    from exhaust.emission.ingest import check_file, store_result
    from exhaust.emission.tables import metadata, open_cqube_engine
    from exhaust.emission.tokens import Credentials
    from exhaust.jobs.db import make_engine
    from exhaust.settings import Settings

    out: dict = {"rows": args.rows, "db": "postgresql" if args.db_url else "sqlite"}
    with tempfile.TemporaryDirectory(prefix="bench-emission-") as tmp:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'cqube.sqlite3'}"
        schema = None
        if args.db_url:
            import psycopg

            schema = f"bench_emission_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.db_url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            db_url = f"{args.db_url}?options=-csearch_path%3D{schema}"
        values = {"data_dir": str(work / "data"), "db_url": db_url, "emission_max_upload_bytes": str(2 << 30)}
        try:
            folder = work / "cqube_emission"
            started = time.perf_counter()
            school_csv(work / "school_mst.csv", args.rows)
            tpd_csv(work / "diksha_tpd.csv", args.rows)
            zipped(work / "school_mst.csv", folder / "school_master" / "school_mst.zip")
            zipped(work / "diksha_tpd.csv", folder / "diksha" / "diksha_tpd.zip")
            out["generate_s"] = round(time.perf_counter() - started, 1)
            out["zip_mb"] = {p.name: round(p.stat().st_size / 1e6, 1) for p in folder.rglob("*.zip")}
            settings = Settings(**values)
            token = Credentials(open_cqube_engine(settings)).create("bench")
            server = start_server(values, work / "server.log")
            env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
            env.update({f"EXHAUST_{k.upper()}": v for k, v in values.items()})
            env["PYTHONPATH"] = str(REPO / "src")
            try:
                started = time.perf_counter()
                emitted = subprocess.run(
                    [sys.executable, "-m", "exhaust", "emit", str(folder), "--url", f"{server.url}/data",
                     "--token", token, "--log", str(work / "emit.jsonl")],
                    env=env, capture_output=True, text=True,
                )  # fmt: skip
                out["emit_s"] = round(time.perf_counter() - started, 1)
                assert emitted.returncode == 0, emitted.stderr
            finally:
                server.stop()
            # Ingest each file in its own `--once` process (one file waits at a time: the zip is
            # moved to a held folder and back) to get per-file wall time and peak RSS.
            emission = work / "data" / "cqube" / "emission"
            held = work / "held"
            for path in list(emission.rglob("*.zip")):
                target = held / path.relative_to(emission)
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
            for source_dir in ("school_master", "diksha"):
                for path in (held / source_dir).glob("*.zip"):
                    (emission / source_dir).mkdir(parents=True, exist_ok=True)
                    path.rename(emission / source_dir / path.name)
                started = time.perf_counter()
                run = subprocess.run(
                    [sys.executable, "-c", INGEST_ONCE], env=env, capture_output=True, text=True
                )
                seconds = time.perf_counter() - started
                assert run.returncode == 0, run.stderr
                out[f"ingest_{source_dir}_s"] = round(seconds, 1)
                out[f"ingest_{source_dir}_peak_rss_mb"] = round(
                    int(run.stderr.strip().splitlines()[-1]) / 1024
                )
                out[f"ingest_{source_dir}_log"] = run.stdout.strip().splitlines()[-1:]
            # Phases in this process, on fresh tables.
            engine = make_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
            metadata.drop_all(engine)
            metadata.create_all(engine)
            for name, path in (
                ("school_mst", work / "school_mst.csv"),
                ("diksha_tpd", work / "diksha_tpd.csv"),
            ):
                started = time.perf_counter()
                result = check_file(name, path)
                checked = time.perf_counter()
                with engine.begin() as conn:
                    store_result(conn, result)
                stored = time.perf_counter()
                out[f"phases_{name}"] = {
                    "read_and_check_s": round(checked - started, 2),
                    "upsert_s": round(stored - checked, 2),
                    "processed": result.summary()["processed_records"],
                    "datatype_mismatch": result.counts.datatype_mismatch,
                }
            engine.dispose()
        finally:
            if schema:
                import psycopg

                with psycopg.connect(args.db_url, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
