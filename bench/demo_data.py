"""Benchmark `exhaust demo-data`: wall time and peak RSS for 100,000 learners (1,000,000 with --million).

Each size runs in a fresh process so its peak RSS is its own. Usage:

    python bench/demo_data.py [--million] [--learners N ...] [--keep DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _run(learners: int, folder: str, results: mp.Queue) -> None:
    from exhaust.demo import generate_demo

    started = time.perf_counter()
    summary = generate_demo(Path(folder), learners)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime  # less sensitive than wall time to other load on the machine
    size_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
    results.put((seconds, cpu, peak_mb, size_mb, summary.rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, nargs="*", default=[100_000])
    parser.add_argument("--million", action="store_true", help="also generate 1,000,000 learners")
    parser.add_argument(
        "--keep", type=Path, help="write into this folder (one sub-folder per size) and keep it"
    )
    args = parser.parse_args()
    sizes = list(args.learners) + ([1_000_000] if args.million else [])
    context = mp.get_context("spawn")
    for learners in sizes:
        root = args.keep or Path(tempfile.mkdtemp(prefix="exhaust-demo-bench-"))
        folder = root / f"demo-{learners}"
        results = context.Queue()
        process = context.Process(target=_run, args=(learners, str(folder), results))
        process.start()
        seconds, cpu, peak_mb, size_mb, rows = results.get()
        process.join()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
        print(
            f"demo-data {learners:>9,} learners: {seconds:7.2f} s wall, {cpu:7.2f} s CPU, "
            f"peak RSS {peak_mb:6.0f} MB, {size_mb:7.1f} MB on disk"
        )
        print("    rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))


if __name__ == "__main__":
    main()
