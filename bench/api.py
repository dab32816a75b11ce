"""Bench: N identical dataset-request submits at once against `exhaust serve` (SPEC §7: p99 ≤ 200 ms).

The server runs in its own process(es) as in production; the load generator is this process: one asyncio
loop over raw keep-alive sockets, all connected and warmed before the burst, so it costs the two cores as
little as possible. Each latency runs from writing a request to reading the end of its response. Usage:

    python bench/api.py [--requests 200] [--workers 1] [--threads N] [--runs 1] [--db-url postgresql://…|sqlite]

Without --db-url the job store is PostgreSQL's `test` database in a schema of its own (dropped
afterwards); `--db-url sqlite` uses a SQLite file in a temporary folder. Prints one JSON object per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"
CHANNEL, COURSE, BATCH = "ch-bench", "do_bench_course", "bench-batch-1"
PATH = "/dataset/v1/request/submit"


def write_source(folder: Path) -> None:
    """One course of the bench channel with one batch: all the submit path reads from the source."""
    folder.mkdir(parents=True, exist_ok=True)
    leaf = {"identifier": "do_leaf", "mimeType": "application/pdf", "name": "Leaf"}
    tree = {"identifier": COURSE, "name": "Bench course", "mimeType": "application/vnd.ekstep.content-collection",
            "contentType": "Course", "channel": CHANNEL, "status": "Live", "children": [leaf]}  # fmt: skip
    rows = {
        "content_hierarchy": [{"identifier": COURSE, "hierarchy": tree}],
        "course_batch": [{"batchid": BATCH, "courseid": COURSE, "name": "B1", "created_for": [CHANNEL]}],
        "user_enrolments": [],
        "users": [],
    }
    for name, items in rows.items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    """`serve()` in its own process; returns once /healthz answers."""
    code = f"from exhaust.api.cli import serve; serve('127.0.0.1', {port}, workers={workers})"
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"exhaust serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"exhaust serve did not start:\n{log.read_text()}")


def cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and its descendants (the server's workers), from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def raw_request(token: str, tag: str) -> bytes:
    body = json.dumps({"id": "ekstep.analytics.job.request.submit", "ver": "1.0", "params": {"msgid": "m"},
                       "request": {"tag": tag, "dataset": "progress-exhaust",
                                   "datasetConfig": {"batchId": BATCH}}}).encode()  # fmt: skip
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nX-Channel-ID: {CHANNEL}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> tuple[int, bytes]:
    """Send one request on a keep-alive connection and read its whole response (status, body)."""
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return int(lines[0].split()[1]), await reader.readexactly(length)


async def burst(
    port: int, warm: bytes, payload: bytes, clients: int, server: int
) -> tuple[list[tuple[int, str, float]], float]:
    """Open `clients` connections, warm each with a submit of another tag, then send `payload` on all at once.

    Also returns the server's CPU seconds during the burst.

    The burst's request is new, so one of its submits creates the row and the others find it.
    """
    connections = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(clients)))
    for reader, writer in connections:  # one after another: warms the server without a burst
        status, _ = await exchange(reader, writer, warm)
        assert status == 200, status

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, str, float]:
        began = time.perf_counter()
        status, body = await exchange(reader, writer, payload)
        elapsed = time.perf_counter() - began
        result = json.loads(body).get("result") or {}
        return status, result.get("requestId", ""), elapsed

    try:
        before = cpu_seconds(server)
        results = await asyncio.gather(*(one(r, w) for r, w in connections))
        return results, cpu_seconds(server) - before
    finally:
        for _, writer in connections:
            writer.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=200, help="simultaneous submits (one connection each)"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--threads", type=int, default=0, help="EXHAUST_API_THREADS (default: the setting's)")
    parser.add_argument("--runs", type=int, default=1, help="bursts, each with a new tag (a new row)")
    parser.add_argument(
        "--db-url", default="", help="PostgreSQL URL, or `sqlite` (default: a schema in test)"
    )
    args = parser.parse_args()

    schema = None
    with tempfile.TemporaryDirectory(prefix="exhaust-bench-api-") as tmp:
        root = Path(tmp)
        if args.db_url == "sqlite":
            db_url = f"sqlite:///{root / 'jobs.sqlite3'}"
        elif args.db_url:
            db_url = args.db_url
        else:
            import psycopg

            schema = f"exhaust_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            db_url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
        write_source(root / "source")
        values = {
            "EXHAUST_DATA_DIR": str(root / "data"),
            "EXHAUST_SOURCE": str(root / "source"),
            "EXHAUST_DB_URL": db_url,
            "EXHAUST_STORAGE_URL": str(root / "storage"),
            "EXHAUST_SIGNING_SECRET": "bench-signing-secret",
        }
        if args.threads:
            values["EXHAUST_API_THREADS"] = str(args.threads)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")} | values
        os.environ.update(values)
        from exhaust.api.auth import TokenStore
        from exhaust.jobs.service import dispose_all, open_store
        from exhaust.settings import Settings

        settings = Settings()
        store = open_store(settings)
        tokens = TokenStore(store.engine, settings.api_token_table)
        tokens.ensure_table()
        token = tokens.create(channel=CHANNEL, roles=["ORG_ADMIN"], user_id="bench-admin")
        port = free_port()
        server = start_server(env, port, args.workers, root / "server.log")
        try:
            for _ in range(args.runs):
                tag = f"bench_{uuid.uuid4().hex[:10]}"
                warm = raw_request(token, f"{tag}_warm")
                results, cpu = asyncio.run(
                    burst(port, warm, raw_request(token, tag), args.requests, server.pid)
                )
                latencies = [elapsed * 1000 for _, _, elapsed in results]
                with store.engine.connect() as conn:
                    rows = conn.exec_driver_sql(
                        f"SELECT count(*) FROM {store.t.name} WHERE tag = %s"
                        if store.postgres
                        else f"SELECT count(*) FROM {store.t.name} WHERE tag = ?",
                        (f"{tag}:{CHANNEL}",),
                    ).scalar_one()
                print(json.dumps({
                    "requests": args.requests, "workers": args.workers, "db": store.engine.dialect.name,
                    "ok": sum(status == 200 for status, _, _ in results),
                    "request_ids": len({rid for _, rid, _ in results}), "rows_created": rows,
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(percentile(latencies, 0.95), 1),
                    "p99_ms": round(percentile(latencies, 0.99), 1),
                    "max_ms": round(max(latencies), 1),
                    "server_cpu_ms_per_request": round(cpu * 1000 / args.requests, 2),
                    "target_p99_ms": 200,
                }), flush=True)  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=15)
            dispose_all()
            if schema is not None:
                import psycopg

                with psycopg.connect(PG_BASE, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
