"""Benchmark: the progress exhaust of a demo batch on a loopback Spark standalone cluster (2 workers).

Usage: python bench/spark_cluster.py DIR [--runs 3] [--reports 1] [--base-port 17100]
       [--worker-memory 2g] [--executor-memory 1500m] [--conf KEY=VALUE ...] [--event-log]

DIR holds demo data (`exhaust demo` or bench/progress.py --keep; readable by the executors: here the
same disk). Starts a master and two one-core workers from pyspark's own classes
(`exhaust.engine.spark_cluster`), then per run a fresh driver process (as `exhaust report` is) that
starts its Spark session, builds the report `--reports` times in that session and prints its figures:
session start, report wall and CPU seconds (driver Python, driver JVM, and the cluster's JVMs, i.e.
master, workers and executors), driver peak RSS (VmHWM of the Python process and of its JVM), rows and
bytes. The file is compared byte for byte with DuckDB's report of the same batch. The cluster is stopped
on exit, even on error. One JSON document on stdout, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from exhaust.engine.backend import spark_session
from exhaust.engine.spark_cluster import process_cpu_seconds
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.open import open_source

def status(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024, 1)

cpu = process_cpu_seconds

folder, batch, out, dataset, reports = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
t1 = time.perf_counter()
session = spark_session()
jvm = session.sparkContext._gateway.proc.pid
t2 = time.perf_counter()
figures = {"import_s": round(t1 - t0, 3), "session_start_s": round(t2 - t1, 3),
           "session_start_jvm_cpu_s": round(cpu(jvm), 3), "reports": []}
for _ in range(reports):
    w, c, j = time.perf_counter(), time.process_time(), cpu(jvm)
    result = build_report(open_source(folder), dataset, batch, out, engine="spark", settings=Settings())
    figures["reports"].append({
        "report_s": round(time.perf_counter() - w, 3),
        "driver_python_cpu_s": round(time.process_time() - c, 3),
        "driver_jvm_cpu_s": round(cpu(jvm) - j, 3),
        "phases": result.seconds, "rows": result.rows})
figures.update(bytes=out.stat().st_size, driver_python_peak_rss_mb=status("self", "VmHWM"),
               driver_jvm_peak_rss_mb=status(jvm, "VmHWM"), driver_jvm_rss_mb=status(jvm, "VmRSS"),
               application_id=session.sparkContext.applicationId)
print(json.dumps(figures))
"""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def duckdb_reference(folder: Path, batch_id: str, dataset: str, out: Path) -> dict:
    """DuckDB's report of the same batch, in a fresh process (its wall and CPU seconds too)."""
    code = (
        "import json, sys, time\nfrom pathlib import Path\n"
        "from exhaust.reports.build import build_report\nfrom exhaust.sources.open import open_source\n"
        "w, c = time.perf_counter(), time.process_time()\n"
        "r = build_report(open_source(sys.argv[1]), sys.argv[3], sys.argv[2], Path(sys.argv[4]), engine='duckdb')\n"
        "print(json.dumps({'report_s': round(time.perf_counter() - w, 3), "
        "'cpu_s': round(time.process_time() - c, 3), 'rows': r.rows}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder), batch_id, dataset, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="demo data (readable by the executors)")
    parser.add_argument("--batch", default="batch-demo-main")
    parser.add_argument("--dataset", default="progress-exhaust")
    parser.add_argument("--runs", type=int, default=3, help="fresh driver processes, one after another")
    parser.add_argument("--reports", type=int, default=1, help="reports per driver (one Spark session)")
    parser.add_argument("--base-port", type=int, default=17100, help="cluster and driver ports from here")
    parser.add_argument("--worker-memory", default="2g")
    parser.add_argument("--executor-memory", default="1500m")
    parser.add_argument("--conf", action="append", default=[], help="extra Spark setting KEY=VALUE")
    parser.add_argument("--event-log", action="store_true", help="write Spark's event log to the logs")
    parser.add_argument("--logs", type=Path, help="cluster logs folder (default: a temporary one)")
    args = parser.parse_args()

    from exhaust.engine.spark_cluster import LoopbackCluster

    folder = args.folder.resolve()
    reference = folder / "report-duckdb.csv"
    figures: dict = {"load_average_start": load(), "folder": str(folder), "dataset": args.dataset}
    figures["duckdb"] = duckdb_reference(folder, args.batch, args.dataset, reference)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="exhaust-spark-cluster-"))
    cluster = LoopbackCluster(logs, workers=2, worker_memory=args.worker_memory, base_port=args.base_port)
    with cluster:
        figures.update(cluster_start_s=round(cluster.started_s, 3), master=cluster.master_url)
        env = cluster.driver_env(executor_memory=args.executor_memory)
        conf = json.loads(env["EXHAUST_SPARK_CONF"])
        conf.update(dict(item.split("=", 1) for item in args.conf))
        if args.event_log:
            (logs / "events").mkdir(exist_ok=True)
            conf.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": (logs / "events").as_uri()})
        env["EXHAUST_SPARK_CONF"] = json.dumps(conf)
        figures.update(conf=conf, logs=str(logs), runs=[])
        for _ in range(args.runs):
            out = folder / "report-spark-cluster.csv"
            out.unlink(missing_ok=True)
            cluster_cpu, started = cluster.cpu_seconds(), time.perf_counter()
            child = subprocess.run(
                [
                    *(sys.executable, "-c", CHILD, str(folder), args.batch, str(out)),
                    *(args.dataset, str(args.reports)),
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            if child.returncode != 0:
                raise SystemExit(f"the driver failed:\n{child.stderr[-4000:]}")
            run = json.loads(child.stdout.strip().splitlines()[-1])
            run["driver_process_s"] = round(time.perf_counter() - started, 3)
            time.sleep(2)  # the executors exit when the application ends; their CPU is then reaped
            run["cluster_jvms_cpu_s"] = round(cluster.cpu_seconds() - cluster_cpu, 3)
            run["identical_to_duckdb"] = out.read_bytes() == reference.read_bytes()
            run["load_average"] = load()
            figures["runs"].append(run)
            print(json.dumps(run), file=sys.stderr)
        figures["executors_launched"] = cluster.executors_launched()
    figures["load_average_end"] = load()
    print(json.dumps(figures, indent=2))
    if not all(run["identical_to_duckdb"] for run in figures["runs"]):
        raise SystemExit("the Spark cluster's report differs from DuckDB's")


if __name__ == "__main__":
    main()
