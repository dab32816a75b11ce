"""The TPD reports as JSON in the output area, under cQube's file names (research-cqube-emission §6.5).

Report 1 (course progress): `diksha_tpd/<level>/<time_range>.json`. Report 2 (enrolment and completion):
`diksha_tpd/report2/<window>/district/<type>.json` and `diksha_tpd/report2/<window>/<level>/<type>/<parent
id>.json` for blocks, clusters and schools, each `{data, footer: {total_completed, total_enrolled}}`, with
types `all_collections` (per collection) and `all` (every collection together). The rows come from the
views of `aggregate.py`, so the files and the views always agree.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.outputs.storage import Storage
from exhaust.tpd.aggregate import LEVELS, TIME_RANGES, WINDOWS, _level_columns, _ranges_sql, _today

PARENT = {"block": "district_id", "cluster": "block_id", "school": "cluster_id"}
#: cQube's expected enrolments (research §5.8), present once a `diksha_enrolment` file is ingested.
EXPECTED_TABLE = "diksha_tpd_expected_enrollment"
FIGURES = ("total_enrolled", "total_completed", "certificate_count")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(conn: sa.Connection, sql: str) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in conn.execute(sa.text(sql)).mappings()]


def _order(level: str) -> str:
    return ", ".join([*(f"{c}" for c in _level_columns(level) if c.endswith("_id"))])


def report_files(
    engine: Engine, cqube_compat: bool = False, timezone: str = "Asia/Kolkata"
) -> dict[str, Any]:
    """Every TPD JSON document by its key (relative to the TPD output prefix)."""
    files: dict[str, Any] = {}
    with engine.connect() as conn:
        expected = _expected(conn, timezone)
        files["diksha_tpd/report2/course_enrolment_meta.json"] = {"expected_data": expected is not None}
        if conn.dialect.name == "postgresql":  # the grouped reads sort in memory, not on disk
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        for level in LEVELS:
            ids = _order(level)
            rows = _rows(
                conn, f"SELECT * FROM diksha_tpd_{level}_wise ORDER BY time_range, {ids}, collection_id"
            )
            by_range: dict[str, list[dict]] = {name: [] for name in TIME_RANGES}
            for row in rows:
                progress = row.pop("collection_progress_cqube")
                if cqube_compat:
                    row["collection_progress"] = progress
                by_range[row.pop("time_range")].append(row)
            for name, data in by_range.items():
                files[f"diksha_tpd/{level}/{name}.json"] = {"data": data}
            _report2(conn, level, files, expected if level == "district" else None, cqube_compat)
    return files


def _expected(conn: sa.Connection, timezone: str) -> dict[tuple, int] | None:
    """Expected enrolment per (window, district, collection) of courses running in the window, when known.

    A course counts in a window when its start or end date falls in it (cQube's filter); `overall` counts
    every course.
    """
    if not sa.inspect(conn).has_table(EXPECTED_TABLE):
        return None
    dialect = conn.dialect.name
    today = _today(dialect, timezone)

    def within(column: str) -> str:
        start = f"{today} - r.days" if dialect == "postgresql" else f"date({today}, '-' || r.days || ' days')"
        return f"(e.{column} > {start} AND e.{column} <= {today})"

    sql = f"""
WITH ranges AS ({_ranges_sql(WINDOWS, "win")})
SELECT r.win, e.district_id, e.collection_id, SUM(e.expected_enrollment) AS expected
FROM {EXPECTED_TABLE} e CROSS JOIN ranges r
WHERE r.days IS NULL OR {within("course_start_date")} OR {within("course_end_date")}
GROUP BY r.win, e.district_id, e.collection_id
"""
    return {(w, int(d), str(c)): int(n or 0) for w, d, c, n in conn.execute(sa.text(sql))}


def _percent(part: Any, whole: int) -> float | None:
    """One decimal, half away from zero, as the SQL views round; None without a whole."""
    if not whole:
        return None
    return float((Decimal(int(part or 0)) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _add_expected(row: dict, window: str, expected: dict[tuple, int], cqube_compat: bool) -> None:
    """cQube's district figures against expected enrolment (only for collections with an expectation)."""
    if "collection_id" in row:
        whole = expected.get((window, row["district_id"], row["collection_id"]))
    else:
        found = [n for (w, d, _c), n in expected.items() if w == window and d == row["district_id"]]
        whole = sum(found) if found else None
    if whole is None:
        return
    row["expected_total_enrolled"] = whole
    row["total_enrolled_percentage"] = _percent(row["total_enrolled"], whole)
    row["certificate_percentage"] = _percent(row["certificate_count"], whole)
    row["expected_completion_percentage"] = _percent(row["total_completed"], whole)
    if cqube_compat:  # cQube's district JSON calls completed / expected `percentage_completion`
        row["percentage_completion"] = row["expected_completion_percentage"]


def _report2(
    conn: sa.Connection,
    level: str,
    files: dict[str, Any],
    expected: dict[tuple, int] | None = None,
    cqube_compat: bool = False,
) -> None:
    columns = _level_columns(level)
    keys = ", ".join(columns)
    ids = _order(level)
    per_collection = _rows(
        conn, f"SELECT * FROM diksha_tpd_r2_{level} ORDER BY time_window, {ids}, collection_id"
    )
    every = _rows(
        conn,
        f"SELECT time_window, {keys}, SUM(total_enrolled) AS total_enrolled, "
        f"SUM(total_completed) AS total_completed, SUM(certificate_count) AS certificate_count, "
        f"CAST(ROUND(CAST(SUM(total_completed) * 100.0 / NULLIF(SUM(total_enrolled), 0) AS NUMERIC), 1) "
        f"AS DOUBLE PRECISION) "
        f"AS percentage_completion FROM diksha_tpd_r2_{level} GROUP BY time_window, {keys} "
        f"ORDER BY time_window, {ids}",
    )
    for kind, rows in (("all_collections", per_collection), ("all", every)):
        grouped: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            window = row.pop("time_window")
            if expected is not None:
                _add_expected(row, window, expected, cqube_compat)
            parent = "" if level == "district" else f"/{row[PARENT[level]]}"
            grouped[f"diksha_tpd/report2/{window}/{level}/{kind}{parent}.json"].append(row)
        if level == "district":  # an empty window still gets its (empty) district file
            for window in WINDOWS:
                grouped.setdefault(f"diksha_tpd/report2/{window}/district/{kind}.json", [])
        for key, data in grouped.items():
            footer = {
                name: int(sum(r[name] or 0 for r in data)) for name in ("total_completed", "total_enrolled")
            }
            files[key] = {"data": data, "footer": footer}


def publish_reports(
    engine: Engine,
    storage: Storage,
    prefix: str = "",
    cqube_compat: bool = False,
    timezone: str = "Asia/Kolkata",
) -> list[str]:
    """Write every report file to the output area (each complete or not at all); returns the keys."""
    files = report_files(engine, cqube_compat, timezone)
    prefix = prefix.strip("/")
    written = []
    with tempfile.TemporaryDirectory(prefix="exhaust-tpd-json-") as work:
        for index, (key, document) in enumerate(sorted(files.items())):
            local = Path(work) / f"{index}.json"
            local.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
            full = f"{prefix}/{key}" if prefix else key
            storage.publish(local, full)
            written.append(full)
    return written
