"""Benchmark: the course dashboard's batch page on a large demo batch, cold and warm (issue 11: ≤ 5 s cold,
≤ 1 s warm for 100,000 learners).

Usage: python bench/dashboard.py [--learners 100000] [--keep DIR --reuse] [--warm 5]
Starts a real `exhaust serve` over the demo data (SQLite job store), signs in with an ORG_ADMIN token and
times the batch page: the first request computes the figures (reads the source, runs the engine), the
next ones are served from the per-batch cache. Also times the course list.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(client: httpx.Client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.get(path)
    answer.raise_for_status()
    return time.perf_counter() - started, len(answer.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep demo data in this folder")
    parser.add_argument("--reuse", action="store_true", help="with --keep: do not regenerate existing data")
    parser.add_argument("--warm", type=int, default=5, help="warm requests to time")
    args = parser.parse_args()

    from exhaust.api.auth import TokenStore
    from exhaust.demo.generate import MAIN_BATCH, generate_demo
    from exhaust.jobs.service import open_store
    from exhaust.settings import Settings

    base = args.keep or Path(tempfile.mkdtemp(prefix="exhaust-bench-dash-"))
    folder = base / "demo"
    if args.reuse and (folder / "course_batch.parquet").exists():
        batch_id, channel = MAIN_BATCH, None
    else:
        summary = generate_demo(folder, args.learners, seed=7)
        batch_id, channel = summary.main_batch_id, summary.channel_id
    values = {
        "EXHAUST_DATA_DIR": str(base),
        "EXHAUST_SOURCE": f"files:{folder}",
        "EXHAUST_DB_URL": f"sqlite:///{base / 'bench-jobs.sqlite3'}",
        "EXHAUST_STORAGE_URL": str(base / "storage"),
        "EXHAUST_SIGNING_SECRET": "bench",
    }
    settings = Settings(
        data_dir=base,
        source=values["EXHAUST_SOURCE"],
        db_url=values["EXHAUST_DB_URL"],
        signing_secret="bench",
    )
    store = open_store(settings)
    tokens = TokenStore(store.engine)
    tokens.ensure_table()
    if channel is None:
        from exhaust.sources.open import open_source

        source = open_source(values["EXHAUST_SOURCE"])
        channel = source.hierarchy(source.batch(batch_id)["courseid"])["channel"]
    token = tokens.create(channel=channel, roles=["ORG_ADMIN"], user_id="bench-admin")

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")} | values
    server = subprocess.Popen(
        [sys.executable, "-m", "exhaust", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("exhaust serve did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=120, follow_redirects=True) as client:
            form = client.get("/dashboard/sign-in").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None
            client.post("/dashboard/sign-in", data={"csrf_token": csrf.group(1), "token": token})
            page = f"/dashboard/batches/{batch_id}"
            cold, size = timed(client, page)
            warm = [timed(client, page)[0] for _ in range(args.warm)]
            list_cold = timed(client, "/dashboard/courses")[0]
            list_warm = [timed(client, "/dashboard/courses")[0] for _ in range(args.warm)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        json.dumps(
            {
                "learners": args.learners,
                "batch_page_cold_s": round(cold, 3),
                "batch_page_warm_median_s": round(statistics.median(warm), 3),
                "batch_page_warm_max_s": round(max(warm), 3),
                "batch_page_bytes": size,
                "course_list_cold_s": round(list_cold, 3),
                "course_list_warm_median_s": round(statistics.median(list_warm), 3),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
