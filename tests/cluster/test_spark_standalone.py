"""A real Spark standalone cluster on loopback builds a demo batch's progress report, byte-equal to DuckDB.

The master and two workers are pyspark's own classes (`bin/spark-class ...deploy.master.Master` and
`...deploy.worker.Worker`), bound to 127.0.0.1. The report runs in a fresh `exhaust report` process whose
driver connects to the master (EXHAUST_SPARK_MASTER); Spark reads the Parquet files itself, from a
folder every executor sees (here the same disk), so the driver holds no learner data.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest

from exhaust.demo.generate import generate_demo
from exhaust.reports.build import build_report
from exhaust.sources.open import open_source

pytestmark = pytest.mark.spark

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen([str(SPARK_CLASS), *args], stdout=handle, stderr=subprocess.STDOUT, env=env)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Path]]]:
    """spark://127.0.0.1:<port> with two one-core workers; stopped by process id afterwards."""
    logs = tmp_path_factory.mktemp("spark-cluster")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    port = free_port()
    master_url = f"spark://127.0.0.1:{port}"
    master_log = logs / "master.log"
    processes = [
        start(
            [
                *("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)),
                *("--webui-port", str(free_port())),
            ],
            master_log,
            env,
        )
    ]
    worker_logs = [logs / f"worker-{i}.log" for i in range(2)]
    try:
        wait_for(lambda: "Starting Spark master" in master_log.read_text(errors="replace"), 60, "the master")
        for index, log in enumerate(worker_logs):
            work = logs / f"work-{index}"
            processes.append(
                start(
                    [
                        *("org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1"),
                        *("--cores", "1", "--memory", "1g", "--webui-port", str(free_port())),
                        *("--work-dir", str(work)),
                    ],
                    log,
                    env,
                )
            )
        wait_for(
            lambda: master_log.read_text(errors="replace").count("Registering worker") >= 2, 90, "two workers"
        )
        yield master_url, worker_logs
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_progress_report_on_a_standalone_cluster_equals_duckdb(cluster, tmp_path: Path) -> None:
    master_url, worker_logs = cluster
    demo = generate_demo(tmp_path / "demo", 400, seed=5)
    duck = build_report(
        open_source(str(demo.folder)), "progress-exhaust", demo.main_batch_id, tmp_path / "d.csv"
    )

    out = tmp_path / "cluster.csv"
    env = {
        **os.environ,
        "EXHAUST_SPARK_MASTER": master_url,
        "EXHAUST_SPARK_CONF": json.dumps(
            {
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.executor.memory": "512m",
                "spark.executor.cores": "1",
            }
        ),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    done = subprocess.run(
        [
            *(sys.executable, "-m", "exhaust", "report", "progress-exhaust", "--source", str(demo.folder)),
            *("--batch", demo.main_batch_id, "--output", str(out), "--engine", "spark"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == duck.path.read_bytes()
    assert duck.rows > 300
    # The work ran on the cluster: both workers were asked to launch an executor for the report.
    launched = [log.read_text(errors="replace").count("Asked to launch executor") for log in worker_logs]
    assert all(count >= 1 for count in launched), launched
