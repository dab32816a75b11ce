"""A worker process with the stand-in builder, for the race and crash tests (`python -m tests.jobs.worker_proc`)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from exhaust.jobs.service import open_store
from exhaust.jobs.worker import Worker
from exhaust.outputs.storage import open_storage
from tests.jobs.helpers import make_settings, source_opener, stand_in_builder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--lease", type=float, default=5)
    parser.add_argument("--delay", type=float, default=0)
    parser.add_argument("--slow-batch", default=None, help="sleep only while building this batch")
    parser.add_argument("--calls", type=Path, default=None)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    settings = make_settings(args.root, args.db, args.table, lease_seconds=args.lease)

    def during(batch_id: str) -> None:
        if args.slow_batch is None or batch_id == args.slow_batch:
            time.sleep(args.delay)

    builder = stand_in_builder(calls_file=args.calls, during=during)
    worker = Worker(
        open_store(settings), open_storage(settings), settings, source=source_opener(args.root / "source"),
        builder=builder,
    )  # fmt: skip
    worker.run(once=args.once, concurrency=args.concurrency)


if __name__ == "__main__":
    main()
