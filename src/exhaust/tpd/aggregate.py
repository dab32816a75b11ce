"""`diksha_tpd_agg` and the TPD reports (research-cqube-emission §6.3–6.5), all in SQL in the cQube database.

Learners map to schools through `diksha_tpd_mapping`; a learner with no mapping, or mapped to a school that
is not in the emitted school / cluster / block / district masters, goes to school 9999 "Others", as in
cQube. `diksha_tpd_agg` is rebuilt per collection × school × enrolment date; the report views read it.

Where cQube's arithmetic is odd the correct figure is the default and cQube's is kept beside it
(`EXHAUST_TPD_CQUBE_COMPAT` picks it for the JSON): `collection_progress` is the mean progress of the
learners (cQube: the unweighted mean of per-school-per-day means, `collection_progress_cqube`), and every
window ends today in both reports (cQube's report 2 `last_day` is yesterday). docs/tpd.md has the details.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.jobs.db import UTCDateTime, utcnow

OTHERS_ID, OTHERS_NAME = 9999, "Others"
LEVELS: tuple[str, ...] = ("district", "block", "cluster", "school")
#: Report 1 time ranges (cQube's names) -> days back from today (None: all).
TIME_RANGES: dict[str, int | None] = {"Last_Day": 1, "Last_7_Day": 7, "Last_30_Day": 30, "All": None}
#: Report 2 windows -> days back from today (None: all).
WINDOWS: dict[str, int | None] = {
    "last_day": 1,
    "last_7_days": 7,
    "last_30_days": 30,
    "last_90_days": 90,
    "overall": None,
}

agg_metadata = sa.MetaData()
diksha_tpd_agg = sa.Table(
    "diksha_tpd_agg",
    agg_metadata,
    sa.Column("collection_id", sa.Text, nullable=False),
    sa.Column("collection_name", sa.Text),
    sa.Column("enrolled_date", sa.Date),
    sa.Column("school_id", sa.BigInteger, nullable=False),
    sa.Column("school_name", sa.Text),
    sa.Column("cluster_id", sa.BigInteger),
    sa.Column("cluster_name", sa.Text),
    sa.Column("block_id", sa.BigInteger),
    sa.Column("block_name", sa.Text),
    sa.Column("district_id", sa.BigInteger),
    sa.Column("district_name", sa.Text),
    sa.Column("collection_progress", sa.Float),  # cQube's: mean progress of this school-day's rows
    sa.Column("progress_sum", sa.Float),  # so levels above can weigh by learners
    sa.Column("progress_count", sa.BigInteger),
    sa.Column("total_enrolled", sa.BigInteger),
    sa.Column("total_completed", sa.BigInteger),
    sa.Column("certificate_count", sa.BigInteger),
    sa.Column("created_on", UTCDateTime()),
    sa.Column("updated_on", UTCDateTime()),
    sa.Index("ix_diksha_tpd_agg_key", "collection_id", "enrolled_date", "school_id"),
)

HIERARCHY_VIEW = """
SELECT s.school_id, s.school_name, c.cluster_id, c.cluster_name, b.block_id, b.block_name,
       d.district_id, d.district_name
FROM school_master s
JOIN cluster_mst c ON c.cluster_id = s.cluster_id
JOIN block_mst b ON b.block_id = s.block_id
JOIN district_mst d ON d.district_id = s.district_id
WHERE s.school_name IS NOT NULL AND c.cluster_name IS NOT NULL AND b.block_name IS NOT NULL
  AND d.district_name IS NOT NULL
"""

LEARNERS_VIEW = f"""
SELECT t.collection_id, t.collection_name, t.batch_id, t.uuid, t.enrolment_date, t.progress,
       t.certificate_status,
       COALESCE(h.school_id, {OTHERS_ID}) AS school_id, COALESCE(h.school_name, '{OTHERS_NAME}') AS school_name,
       COALESCE(h.cluster_id, {OTHERS_ID}) AS cluster_id, COALESCE(h.cluster_name, '{OTHERS_NAME}') AS cluster_name,
       COALESCE(h.block_id, {OTHERS_ID}) AS block_id, COALESCE(h.block_name, '{OTHERS_NAME}') AS block_name,
       COALESCE(h.district_id, {OTHERS_ID}) AS district_id,
       COALESCE(h.district_name, '{OTHERS_NAME}') AS district_name,
       CASE WHEN m.uuid IS NULL THEN 'unmapped' WHEN h.school_id IS NULL THEN 'unknown_school'
            ELSE 'mapped' END AS mapping
FROM diksha_tpd_trans t
LEFT JOIN (SELECT uuid, MIN(school_id) AS school_id FROM diksha_tpd_mapping GROUP BY uuid) m
       ON m.uuid = t.uuid
LEFT JOIN diksha_tpd_school_hierarchy h ON h.school_id = m.school_id
"""

#: Teachers per school (cQube's `school_teachers_count`): kept as a table filled at each rebuild, since
#: every report-1 view needs it and counting distinct teachers each time would dominate their cost.
diksha_tpd_teachers = sa.Table(
    "diksha_tpd_teachers",
    agg_metadata,
    sa.Column("school_id", sa.BigInteger, primary_key=True),
    sa.Column("cluster_id", sa.BigInteger),
    sa.Column("block_id", sa.BigInteger),
    sa.Column("district_id", sa.BigInteger),
    sa.Column("total_teachers", sa.BigInteger),
)
REBUILD_TEACHERS = """
INSERT INTO diksha_tpd_teachers (school_id, cluster_id, block_id, district_id, total_teachers)
SELECT h.school_id, h.cluster_id, h.block_id, h.district_id, COUNT(DISTINCT m.uuid)
FROM diksha_tpd_mapping m JOIN diksha_tpd_school_hierarchy h ON h.school_id = m.school_id
GROUP BY h.school_id, h.cluster_id, h.block_id, h.district_id
"""

REBUILD_AGG = """
INSERT INTO diksha_tpd_agg (collection_id, collection_name, enrolled_date, school_id, school_name,
    cluster_id, cluster_name, block_id, block_name, district_id, district_name, collection_progress,
    progress_sum, progress_count, total_enrolled, total_completed, certificate_count, created_on, updated_on)
SELECT collection_id, collection_name, enrolment_date, school_id, school_name, cluster_id, cluster_name,
       block_id, block_name, district_id, district_name, AVG(progress), SUM(progress), COUNT(progress),
       COUNT(DISTINCT uuid),
       COUNT(DISTINCT CASE WHEN progress = 100 THEN uuid END),
       COUNT(DISTINCT CASE WHEN certificate_status = 'Issued' THEN uuid END),
       :now, :now
FROM diksha_tpd_learners
WHERE collection_name IS NOT NULL
GROUP BY collection_id, collection_name, enrolment_date, school_id, school_name, cluster_id, cluster_name,
         block_id, block_name, district_id, district_name
"""


def _level_columns(level: str) -> list[str]:
    """The id and name columns of a level and the levels above it (a block row carries its district)."""
    chain = LEVELS[: LEVELS.index(level) + 1]
    return [column for name in chain for column in (f"{name}_id", f"{name}_name")]


def _today(dialect: str, timezone: str) -> str:
    if dialect == "postgresql":
        return f"CAST(now() AT TIME ZONE '{ZoneInfo(timezone).key}' AS DATE)"
    # SQLite: the zone's current UTC offset (dates are ISO text there)
    from datetime import datetime

    offset = datetime.now(ZoneInfo(timezone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return f"date('now', '{minutes:+d} minutes')"


def _since(dialect: str, timezone: str, days_column: str) -> str:
    """`enrolled_date` is within the last `days` days ending today (today counts as the first)."""
    today = _today(dialect, timezone)
    if dialect == "postgresql":
        return f"a.enrolled_date > {today} - {days_column}"
    return f"a.enrolled_date > date({today}, '-' || {days_column} || ' days')"


def _ranges_sql(ranges: dict[str, int | None], name: str) -> str:
    rows = [f"SELECT '{label}' AS {name}, {days if days is not None else 'NULL'} AS days"
            for label, days in ranges.items()]  # fmt: skip
    return " UNION ALL ".join(rows)


def _round(expression: str) -> str:
    """One decimal, half away from zero (numeric rounding), handed out as a plain float."""
    return f"CAST(ROUND(CAST({expression} AS NUMERIC), 1) AS DOUBLE PRECISION)"


def report1_view(level: str, dialect: str, timezone: str) -> str:
    """Course progress per level entity × collection × time range (cQube's `diksha_tpd_<level>_wise`)."""
    columns = _level_columns(level)
    keys = ", ".join(f"a.{c}" for c in columns)
    level_id = f"{level}_id"
    return f"""
WITH ranges AS ({_ranges_sql(TIME_RANGES, "time_range")}),
teachers AS (SELECT {level_id}, SUM(total_teachers) AS total_teachers FROM diksha_tpd_teachers
             GROUP BY {level_id})
SELECT r.time_range, {keys}, a.collection_id, a.collection_name,
       SUM(a.total_enrolled) AS total_enrolled, SUM(a.total_completed) AS total_completed,
       SUM(a.certificate_count) AS certificate_count,
       MAX(t.total_teachers) AS total_teachers,
       {_round("SUM(a.progress_sum) / NULLIF(SUM(a.progress_count), 0)")} AS collection_progress,
       {_round("AVG(a.collection_progress)")} AS collection_progress_cqube,
       {_round("SUM(a.total_enrolled) * 100.0 / NULLIF(MAX(t.total_teachers), 0)")} AS percentage_teachers
FROM diksha_tpd_agg a CROSS JOIN ranges r
LEFT JOIN teachers t ON t.{level_id} = a.{level_id}
WHERE r.days IS NULL OR {_since(dialect, timezone, "r.days")}
GROUP BY r.time_range, {keys}, a.collection_id, a.collection_name
"""


def report2_view(level: str, dialect: str, timezone: str, cqube_compat: bool) -> str:
    """Enrolment and completion per window × level entity × collection (cQube's report 2)."""
    columns = _level_columns(level)
    keys = ", ".join(f"a.{c}" for c in columns)
    since = _since(dialect, timezone, "r.days")
    if cqube_compat:  # cQube: last_day is yesterday only
        today = _today(dialect, timezone)
        yesterday = f"{today} - 1" if dialect == "postgresql" else f"date({today}, '-1 days')"
        since = f"CASE WHEN r.win = 'last_day' THEN a.enrolled_date = {yesterday} ELSE {since} END"
    return f"""
WITH ranges AS ({_ranges_sql(WINDOWS, "win")})
SELECT r.win AS time_window, {keys}, a.collection_id, a.collection_name,
       SUM(a.total_enrolled) AS total_enrolled, SUM(a.total_completed) AS total_completed,
       SUM(a.certificate_count) AS certificate_count,
       {_round("SUM(a.total_completed) * 100.0 / NULLIF(SUM(a.total_enrolled), 0)")} AS percentage_completion
FROM diksha_tpd_agg a CROSS JOIN ranges r
WHERE r.days IS NULL OR {since}
GROUP BY r.win, {keys}, a.collection_id, a.collection_name
"""


def views(dialect: str, timezone: str, cqube_compat: bool) -> dict[str, str]:
    found = {
        "diksha_tpd_school_hierarchy": HIERARCHY_VIEW,
        "diksha_tpd_learners": LEARNERS_VIEW,
    }
    for level in LEVELS:
        found[f"diksha_tpd_{level}_wise"] = report1_view(level, dialect, timezone)
        found[f"diksha_tpd_r2_{level}"] = report2_view(level, dialect, timezone, cqube_compat)
    return found


def ensure_views(conn: sa.Connection, timezone: str, cqube_compat: bool) -> None:
    """(Re)create the TPD views, dependencies first (views over views are replaced in reverse order)."""
    dialect = conn.dialect.name
    defined = views(dialect, timezone, cqube_compat)
    for name in reversed(list(defined)):
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
    for name, body in defined.items():
        conn.exec_driver_sql(f"CREATE VIEW {name} AS {body}")


def rebuild(engine: Engine, timezone: str, cqube_compat: bool = False) -> dict[str, Any]:
    """Rebuild `diksha_tpd_agg` from `diksha_tpd_trans` in one transaction; returns the mapping counts."""
    agg_metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('exhaust:diksha_tpd_agg'))")
        ensure_views(conn, timezone, cqube_compat)
        conn.execute(sa.delete(diksha_tpd_agg))
        conn.execute(sa.delete(diksha_tpd_teachers))
        conn.exec_driver_sql(REBUILD_TEACHERS)
        conn.execute(
            sa.text(REBUILD_AGG).bindparams(sa.bindparam("now", type_=UTCDateTime())), {"now": utcnow()}
        )
        mapping: dict[Any, Any] = dict(
            conn.execute(
                sa.text("SELECT mapping, COUNT(DISTINCT uuid) FROM diksha_tpd_learners GROUP BY mapping")
            ).all()
        )
        rows = conn.execute(sa.select(sa.func.count()).select_from(diksha_tpd_agg)).scalar_one()
    return {
        "agg_rows": int(rows),
        "learners_mapped": int(mapping.get("mapped", 0)),
        "learners_unmapped": int(mapping.get("unmapped", 0)),
        "learners_unknown_school": int(mapping.get("unknown_school", 0)),
    }
