"""The TPD feed end to end against real processes: `exhaust serve`, `exhaust worker`, PostgreSQL.

emit masters, diksha_tpd_mapping and the batch ids (`exhaust emit` → the serve's /data API →
`exhaust emission ingest --once`) → `exhaust tpd run` (dataset API of the same serve, a real worker builds
the two batches' progress exhausts in Sunbird Lern's layout, zipped with the key) → request SUCCESS →
diksha_tpd rows → aggregates → district and school JSON. The numbers are worked out in tests/tpd/data.py:

Course One, district D1 (7501), All: t1 100 + t2 25 (school S1) and t3 50 (S2) → enrolled 3, completed 1
(t1), certificates 1 (t1), progress (100 + 25 + 50) / 3 = 58.3, teachers of D1 = t1, t2, t3 → 100.0 %.
Last_Day: t1, t2 (enrolled today) → 2 enrolled, progress 62.5, 2 of 3 teachers = 66.7 %.
School S1, All: t1, t2 → progress 62.5, 2 of 2 teachers → 100.0 %. t5 has no mapping → school 9999.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from exhaust.emission.tables import DATA_TABLES, open_cqube_engine
from exhaust.settings import Settings
from tests.api.live import start_server
from tests.tpd.data import B1, B2, BATCH_IDS_CSV, C1, CHANNEL, MAPPING_CSV, MASTERS, write_tpd_source

REPO = Path(__file__).resolve().parents[2]
KEY = "tpd e2e key"


def exhaust(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "exhaust", *args], env=env, capture_output=True, text=True, timeout=timeout,
        cwd=env["EXHAUST_DATA_DIR"],
    )  # fmt: skip


def emission_folder(root: Path) -> Path:
    folders = {"district_mst": "district_master", "block_mst": "block_master",
               "cluster_mst": "cluster_master", "school_mst": "school_master"}  # fmt: skip
    for name, text in MASTERS.items():
        (root / folders[name]).mkdir(parents=True, exist_ok=True)
        (root / folders[name] / f"{name}.csv").write_text(text, encoding="utf-8")
    (root / "diksha").mkdir(parents=True, exist_ok=True)
    (root / "diksha" / "diksha_tpd_mapping.csv").write_text(MAPPING_CSV, encoding="utf-8")
    (root / "diksha" / "diksha_api_progress_exhaust_batch_ids.csv").write_text(
        BATCH_IDS_CSV, encoding="utf-8"
    )
    return root


def test_emitted_batch_ids_to_district_json(tmp_path: Path, cqube_url: str) -> None:
    today = datetime.now(UTC).date()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    values = {
        "data_dir": str(data_dir), "db_url": cqube_url, "source": str(write_tpd_source(tmp_path / "source", today)),
        "storage_url": str(tmp_path / "storage"), "signing_secret": "e2e-signing-secret", "timezone": "UTC",
        "retry_backoff_seconds": "0", "poll_seconds": "0.2", "api_token_cache_seconds": "1",
    }  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    env.update({f"EXHAUST_{k.upper()}": v for k, v in values.items()}, PYTHONPATH=str(REPO / "src"))
    server = start_server(values, tmp_path / "server.log")
    worker = None
    try:
        # 1. emit the masters, the mapping and the batch ids, and ingest them
        minted = exhaust(env, "emission", "token", "create", "--consumer", "state")
        assert minted.returncode == 0, minted.stderr
        emitted = exhaust(env, "emit", str(emission_folder(tmp_path / "cqube_emission")), "--url",
                          f"{server.url}/data", "--token", minted.stdout.strip().splitlines()[-1],
                          "--log", str(tmp_path / "emit.jsonl"))  # fmt: skip
        assert emitted.returncode == 0, emitted.stdout + emitted.stderr
        ingested = exhaust(env, "emission", "ingest", "--once")
        assert ingested.returncode == 0, ingested.stdout + ingested.stderr
        assert ingested.stdout.count("OK ") == 6, ingested.stdout

        # 2. a real worker builds what the dataset API is asked for
        worker = subprocess.Popen(
            [sys.executable, "-m", "exhaust", "worker"], env=env, cwd=str(data_dir),
            stdout=(tmp_path / "worker.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        service = exhaust(env, "token", "create", "--channel", CHANNEL, "--role", "SERVICE")
        assert service.returncode == 0, service.stderr

        # 3. the TPD run
        tpd_env = {**env, "EXHAUST_TPD_API_URL": server.url, "EXHAUST_TPD_API_TOKEN": service.stdout.strip(),
                   "EXHAUST_TPD_CHANNEL": CHANNEL, "EXHAUST_TPD_ENCRYPTION_KEY": KEY,
                   "EXHAUST_TPD_POLL_SECONDS": "0.5", "EXHAUST_TPD_WAIT_SECONDS": "180"}  # fmt: skip
        run = exhaust(tpd_env, "tpd", "run")
        assert run.returncode == 0, run.stdout + run.stderr + (tmp_path / "worker.log").read_text()
        status = json.loads(run.stdout)
        assert status["status"] == "SUCCESS" and status["aggregated"] is True
        [request] = status["requests"]
        assert request["requestStatus"] == "SUCCESS" and request["batches"] == [B1, B2]
        assert (request["totalFiles"], request["filesProcessed"], request["filesEmitted"]) == (2, 2, 2)
        files = {f["batchId"]: f for f in request["files"]}
        assert files[B1]["status"] == "INGESTED" and files[B1]["processedRecords"] == 5
        assert files[B2]["processedRecords"] == 2 and files[B1]["layout"] == "sunbird-lern"
        assert status["summary"]["learners_unmapped"] == 1 and status["summary"]["learners_mapped"] == 4
        assert KEY not in run.stdout + run.stderr  # the key is never printed

        # the dataset API kept the request as an ordinary job
        job = server.store.get(request["requestId"])
        assert job is not None and job.status == "SUCCESS" and len(job.download_urls) == 2

        # 4. diksha_tpd rows, the aggregates and the JSON
        settings = Settings(data_dir=data_dir, db_url=cqube_url)
        engine = open_cqube_engine(settings)
        trans = DATA_TABLES["diksha_tpd"]
        with engine.connect() as conn:
            rows = {(r.uuid, r.collection_id): r for r in conn.execute(sa.select(trans))}
            agg_rows = conn.execute(sa.text("SELECT count(*) FROM diksha_tpd_agg")).scalar_one()
        assert len(rows) == 7 and agg_rows == 6
        t1 = rows[("t1", C1)]
        assert (t1.batch_id, t1.progress, t1.certificate_status, t1.enrolment_date) == (
            B1,
            100.0,
            "Issued",
            today,
        )
        assert rows[("t2", C1)].progress == 25.0 and rows[("t5", C1)].progress == 0.0

        storage = tmp_path / "storage"
        district = json.loads((storage / "diksha_tpd/district/All.json").read_text())
        d1 = next(r for r in district["data"] if r["district_id"] == 7501 and r["collection_id"] == C1)
        assert d1 == {
            "district_id": 7501, "district_name": "D1", "collection_id": C1, "collection_name": "Course One",
            "total_enrolled": 3, "total_completed": 1, "certificate_count": 1, "total_teachers": 3,
            "collection_progress": 58.3, "percentage_teachers": 100.0,
        }  # fmt: skip
        last_day = json.loads((storage / "diksha_tpd/district/Last_Day.json").read_text())
        d1_today = next(r for r in last_day["data"] if r["district_id"] == 7501 and r["collection_id"] == C1)
        assert (d1_today["total_enrolled"], d1_today["collection_progress"], d1_today["percentage_teachers"]) == (
            2, 62.5, 66.7,
        )  # fmt: skip
        school = json.loads((storage / "diksha_tpd/school/All.json").read_text())
        s1 = next(r for r in school["data"] if r["school_id"] == 75010101001 and r["collection_id"] == C1)
        assert (s1["school_name"], s1["total_enrolled"], s1["collection_progress"], s1["percentage_teachers"]) == (
            "S1", 2, 62.5, 100.0,
        )  # fmt: skip
        others = [r for r in district["data"] if r["district_id"] == 9999]
        assert [(r["district_name"], r["total_enrolled"], r["collection_progress"]) for r in others] == [
            ("Others", 1, 0.0)
        ]

        # 5. the status over the CLI and the API
        shown = exhaust(tpd_env, "tpd", "status")
        assert shown.returncode == 0 and json.loads(shown.stdout)[0]["runId"] == status["runId"]
        import httpx

        answer = httpx.get(f"{server.url}/tpd/v1/status",
                           headers={"Authorization": f"Bearer {service.stdout.strip()}", "X-Channel-ID": CHANNEL})  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"]["runs"][0]["requests"][0]["filesEmitted"] == 2
        assert httpx.get(f"{server.url}/tpd/v1/status").status_code == 401
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        server.stop()
