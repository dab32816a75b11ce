"""Benchmark: the progress exhaust of one large demo batch (SPEC §7: 100,000 learners in <= 10 s, <= 1.5 GB).

Usage: python bench/progress.py [--learners 100000] [--engine duckdb] [--keep DIR]
Generates demo data once (timed separately), then builds the report in a fresh process and reports its
wall time, phase times and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from exhaust.settings import Settings
t1 = time.perf_counter()
result = build_report(open_source(sys.argv[1]), sys.argv[4], sys.argv[2], Path(sys.argv[3]),
                      engine=sys.argv[5], settings=Settings())
t2 = time.perf_counter()
print(json.dumps({"import_s": round(t1 - t0, 3), "report_s": round(t2 - t1, 3), "rows": result.rows,
                  "phases": result.seconds, "bytes": Path(sys.argv[3]).stat().st_size,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--dataset", default="progress-exhaust")
    parser.add_argument("--keep", type=Path, help="keep demo data in this folder")
    parser.add_argument("--reuse", action="store_true", help="with --keep: do not regenerate existing data")
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
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures.update(
        learners=args.learners,
        engine=args.engine,
        dataset=args.dataset,
        demo_data_s=None if generated is None else round(generated, 2),
        child_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
