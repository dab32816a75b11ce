"""Benchmark: the progress exhaust of one large demo batch (SPEC §7: 100,000 learners in <= 10 s, <= 1.5 GB).

Usage: python bench/progress.py [--learners 100000] [--engine duckdb] [--keep DIR]
Generates demo data once (timed separately), then builds the report in a fresh process and reports its
wall time, CPU seconds, phase times and peak RSS, and its ratios (wall and CPU) to the I/O floor
(bench/floor.py) measured in the same run, with the load average (wall times on a busy machine say little).
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
sys.path.insert(0, sys.argv[6])
from floor import peak_rss_mb
t0 = time.perf_counter()
from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from exhaust.settings import Settings
t1, c1 = time.perf_counter(), time.process_time()
result = build_report(open_source(sys.argv[1]), sys.argv[4], sys.argv[2], Path(sys.argv[3]),
                      engine=sys.argv[5], settings=Settings())
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": round(t1 - t0, 3), "report_s": round(t2 - t1, 3),
                  "report_cpu_s": round(c2 - c1, 3), "rows": result.rows,
                  "phases": result.seconds, "bytes": Path(sys.argv[3]).stat().st_size,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--dataset", default="progress-exhaust")
    parser.add_argument("--keep", type=Path, help="keep demo data in this folder")
    parser.add_argument("--reuse", action="store_true", help="with --keep: do not regenerate existing data")
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor (it holds the input columns without a memory limit: 4.8 GB at 1 M learners)",
    )
    args = parser.parse_args()

    from exhaust.demo.generate import MAIN_BATCH, generate_demo

    folder = args.keep or Path(tempfile.mkdtemp(prefix="exhaust-bench-"))
    started = time.perf_counter()
    if args.reuse and (folder / "course_batch.parquet").exists():
        folder_used, batch_id, generated = folder, MAIN_BATCH, None
    else:
        summary = generate_demo(folder, args.learners, seed=7)
        folder_used, batch_id, generated = (
            summary.folder,
            summary.main_batch_id,
            time.perf_counter() - started,
        )
    out = folder / "report.csv"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(folder_used),
            batch_id,
            str(out),
            args.dataset,
            args.engine,
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures.update(load_average=[round(x, 2) for x in os.getloadavg()], learners=args.learners)
    figures.update(engine=args.engine, dataset=args.dataset)
    figures.update(demo_data_s=None if generated is None else round(generated, 2))
    if args.no_floor:
        print(json.dumps(figures, indent=2))
        return
    # The I/O floor, measured in the same run (and in a fresh process: its own peak RSS).
    measured = subprocess.run(
        [
            *(sys.executable, str(Path(__file__).with_name("floor.py")), str(folder_used), batch_id),
            *("--rows", str(figures["rows"]), "--bytes", str(figures["bytes"]), "--dataset", args.dataset),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    floor = json.loads(measured.stdout.strip().splitlines()[-1])
    figures.update(floor, ratio_to_floor=round(figures["report_s"] / max(floor["floor_s"], 1e-3), 2))
    # CPU seconds (user + system, all threads) are disturbed less than wall time on a shared machine.
    figures.update(cpu_ratio_to_floor=round(figures["report_cpu_s"] / max(floor["floor_cpu_s"], 1e-3), 2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
