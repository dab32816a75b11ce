"""The I/O floor of a report: DuckDB reading the same input columns of the batch and writing a CSV of
the report's size (rows and bytes), with nothing computed in between. No report can be much faster
than this on the same machine at the same moment, so benchmarks state their time as a ratio to it.

Usage: python bench/floor.py DIR BATCH --rows N --bytes B [--dataset progress-exhaust]
Prints one JSON line: seconds (wall and CPU) and peak RSS of the floor (measured in this process).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

# The columns each report reads from each table (the same pushdown the engine gets).
INPUTS = {
    "progress-exhaust": {
        "user_enrolments": (
            "userid, courseid, batchid, active, enrolled_date, enrolleddate, completedon, status, "
            "contentstatus, certificates, issued_certificates, certstatus"
        ),
        "user_activity_agg": "user_id, activity_id, context_id, aggregates",
        # The default profile shows scores only: the best attempt's other columns are not read.
        "assessment_aggregator": "user_id, content_id, course_id, batch_id, total_score",
    },
    "response-exhaust": {
        "user_enrolments": "userid, courseid, batchid, active",
        "assessment_aggregator": "user_id, content_id, attempt_id, course_id, batch_id, "
        "last_attempted_on, question",
    },
}
FILTERS = {
    "user_enrolments": "batchid = $batch",
    "user_activity_agg": "context_id = 'cb:' || $batch",
    "assessment_aggregator": "batch_id = $batch",
}


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM): unlike ru_maxrss it does not carry the parent's peak over exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def floor(folder: Path, batch_id: str, rows: int, size: int, dataset: str = "progress-exhaust") -> dict:
    """Seconds to read the batch's input columns and write `rows` CSV rows totalling about `size` bytes."""
    import duckdb

    started, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    read = 0
    for table, columns in INPUTS[dataset].items():
        path = folder / f"{table}.parquet"
        if not path.exists():
            continue
        # Materialise the filtered columns (as the engine must), so nothing is skipped.
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT {columns} FROM read_parquet('{path}') "
            f"WHERE {FILTERS[table]}",
            {"batch": batch_id},
        )
        read += con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    users = folder / "users.parquet"
    con.execute(
        "CREATE TEMP TABLE users AS SELECT u.* FROM read_parquet(?) u SEMI JOIN user_enrolments e "
        "ON u.userid = e.userid",
        [str(users)],
    )
    width = max(1, size // max(rows, 1) - 1)
    with tempfile.TemporaryDirectory() as out:
        target = Path(out) / "floor.csv"
        con.execute(
            f"COPY (SELECT rpad(userid || ',' || coalesce(firstname, ''), {width}, 'x') AS line "
            f"FROM range({rows}) r LEFT JOIN (SELECT userid, firstname, row_number() OVER () - 1 AS i "
            f"FROM users) u ON u.i = r.range % (SELECT greatest(count(*), 1) FROM users)) "
            f"TO '{target}' (FORMAT csv, HEADER false, QUOTE '')"
        )
        written = target.stat().st_size
    con.close()
    return {
        "floor_s": round(time.perf_counter() - started, 3),
        "floor_cpu_s": round(time.process_time() - cpu, 3),
        "floor_rows_read": read,
        "floor_bytes_written": written,
        "floor_peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("batch")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--dataset", default="progress-exhaust")
    args = parser.parse_args()
    print(json.dumps(floor(args.folder, args.batch, args.rows, args.bytes, args.dataset)))


if __name__ == "__main__":
    main()
