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
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.outputs.storage import Storage
from exhaust.tpd.aggregate import LEVELS, TIME_RANGES, WINDOWS, _level_columns

PARENT = {"block": "district_id", "cluster": "block_id", "school": "cluster_id"}
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


def report_files(engine: Engine, cqube_compat: bool = False) -> dict[str, Any]:
    """Every TPD JSON document by its key (relative to the TPD output prefix)."""
    files: dict[str, Any] = {}
    with engine.connect() as conn:
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
            _report2(conn, level, files)
    return files


def _report2(conn: sa.Connection, level: str, files: dict[str, Any]) -> None:
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
    engine: Engine, storage: Storage, prefix: str = "", cqube_compat: bool = False
) -> list[str]:
    """Write every report file to the output area (each complete or not at all); returns the keys."""
    files = report_files(engine, cqube_compat)
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
