"""Two ingestion workers on one PostgreSQL, one SIGKILLed while it holds a file: each object once."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import sqlalchemy as sa

from exhaust.emission.tables import dispose_engines, metadata, open_cqube_engine
from exhaust.settings import Settings
from tests.api.live import REPO

BIG_ROWS = 80_000
SCHOOL_HEADER = "SchoolId|School|lowclass|highclass|SchMgt|SchCat|SchoolMedium|StateId|DistrictId|BlockId|ClusterId|Latitude|Longitude\n"


def put_zip(root: Path, key: str, csv_name: str, text: str) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(csv_name, text)
    path.write_bytes(buffer.getvalue())


def start_worker(values: dict[str, str], log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update({f"EXHAUST_{k.upper()}": v for k, v in values.items()})
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.Popen(
        [sys.executable, "-m", "exhaust", "emission", "ingest"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_two_workers_and_a_sigkill_mid_file_ingest_every_object_exactly_once(tmp_path, pg_url):
    values = {
        "data_dir": str(tmp_path / "data"),
        "db_url": pg_url,
        "emission_lease_seconds": "4",
        "emission_poll_seconds": "0.2",
    }
    engine = open_cqube_engine(Settings(**values))
    emission = tmp_path / "data" / "cqube" / "emission"
    for i in range(6):
        put_zip(
            emission,
            f"district_master/district_mst_{i}.zip",
            "district_mst.csv",
            f"DistrictId|District\n{i}|D{i}\n",
        )
    rows = "".join(f"{n}|School {n}|1|5|1|1|1|75|1|10|100|19.5|74.5\n" for n in range(BIG_ROWS))
    put_zip(emission, "school_master/school_mst_big.zip", "school_mst.csv", SCHOOL_HEADER + rows)
    keys = {str(p.relative_to(emission)) for p in emission.rglob("*.zip")}
    workers = [start_worker(values, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        big = "school_master/school_mst_big.zip"
        deadline = time.monotonic() + 90
        owner = None
        while owner is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                owner = conn.execute(
                    sa.text(
                        "SELECT lease_owner FROM emission_object WHERE emission_key = :k AND state = 'CLAIMED'"
                    ),
                    {"k": big},
                ).scalar()
            time.sleep(0.02)
        assert owner, "no worker claimed the big file"
        holder = next(w for w in workers if f":{w.pid}:" in owner)
        holder.send_signal(signal.SIGKILL)  # mid-file: it holds the claim and has not committed
        holder.wait(timeout=10)
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                states = conn.execute(sa.text("SELECT state FROM emission_object")).scalars().all()
            if len(states) == len(keys) and set(states) == {"DONE"}:
                break
            time.sleep(0.2)
        with engine.connect() as conn:
            done = conn.execute(
                sa.text("SELECT emission_key, attempts FROM emission_object WHERE state = 'DONE'")
            ).all()
            summaries = conn.execute(sa.text("SELECT emission_key, status FROM log_summary")).all()
            schools = conn.execute(sa.text("SELECT count(*) FROM school_master")).scalar()
            districts = (
                conn.execute(sa.text("SELECT district_id FROM district_mst ORDER BY 1")).scalars().all()
            )
        assert {k for k, _ in done} == keys
        assert sorted(k for k, _ in summaries) == sorted(keys)  # one log_summary row per object: never twice
        assert {s for _, s in summaries} == {"OK"}
        assert dict(done)[big] == 2  # claimed by the killed worker, then redone by the other
        assert schools == BIG_ROWS and districts == list(range(6))
        assert not list(emission.rglob("*.zip"))
        inputs = [p for p in (tmp_path / "data" / "cqube" / "input").rglob("*.zip")]
        assert sorted(p.name.split("_", 3)[-1] for p in inputs) == sorted(k.rsplit("/", 1)[-1] for k in keys)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=10)
        metadata.drop_all(engine)
        dispose_engines()
