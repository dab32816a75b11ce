"""A real Spark standalone cluster on loopback builds a demo batch's progress report, byte-equal to DuckDB.

The master and two workers are pyspark's own classes (`bin/spark-class ...deploy.master.Master` and
`...deploy.worker.Worker`), bound to 127.0.0.1. The report runs in a fresh `exhaust report` process whose
driver connects to the master (EXHAUST_SPARK_MASTER); Spark reads the Parquet files itself, from a
folder every executor sees (here the same disk), so the driver holds no learner data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exhaust.demo.generate import generate_demo
from exhaust.engine.spark_cluster import LoopbackCluster
from exhaust.reports.build import build_report
from exhaust.sources.open import open_source

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    """spark://127.0.0.1:<port> with two one-core workers; stopped by process id afterwards.

    EXHAUST_TEST_SPARK_BASE_PORT pins its ports (and the driver's) from there up, e.g. on a shared machine.
    """
    base = int(os.environ.get("EXHAUST_TEST_SPARK_BASE_PORT", "0")) or None  # else: free ports
    logs = tmp_path_factory.mktemp("spark-cluster")
    with LoopbackCluster(logs, workers=2, worker_memory="1g", base_port=base) as running:
        yield running


def test_progress_report_on_a_standalone_cluster_equals_duckdb(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    demo = generate_demo(tmp_path / "demo", 400, seed=5)
    duck = build_report(
        open_source(str(demo.folder)), "progress-exhaust", demo.main_batch_id, tmp_path / "d.csv"
    )

    out = tmp_path / "cluster.csv"
    env = cluster.driver_env(executor_memory="512m")
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
    launched = cluster.executors_launched()
    assert all(count >= 1 for count in launched), launched
