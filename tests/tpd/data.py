"""A small hand-checked TPD data set: two courses, two batches, five teachers in two districts.

Course do_tpd_c1 (batch 0130000000000000011, four leaves) and do_tpd_c2 (batch 0130000000000000022,
two leaves). Progress = round(100 × completed leaves / leaves). Teachers t1…t4 are mapped to schools of
the emitted masters; t5 is mapped to no school (→ 9999 "Others"). Enrolment dates are relative to today
so that every report window has something in it.

| teacher | school      | c1 leaves done → progress | c1 enrolled | cert | c2 leaves → progress | c2 enrolled |
|---------|-------------|---------------------------|-------------|------|----------------------|-------------|
| t1      | S1 (D1 B1)  | 4/4 → 100 (completedon)   | today       | yes  | 1/2 → 50             | today-3     |
| t2      | S1 (D1 B1)  | 1/4 → 25                  | today       |      | —                    |             |
| t3      | S2 (D1 B2)  | 2/4 → 50                  | today-3     |      | 2/2 → 100            | today-40    |
| t4      | S3 (D2 B3)  | 3/4 → 75                  | today-20    |      | —                    |             |
| t5      | (unmapped)  | 0/4 → 0                   | today-100   |      | —                    |             |
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tests.builders import batch, course, enrolment, hierarchy_row, leaf, write_source

C1, C2 = "do_tpd_c1", "do_tpd_c2"
B1, B2 = "0130000000000000011", "0130000000000000022"
CHANNEL = "tpd-channel"


def day(days_ago: int, today: date | None = None) -> str:
    return ((today or date.today()) - timedelta(days=days_ago)).isoformat()


def write_tpd_source(folder: Path, today: date) -> Path:
    c1 = course(C1, [leaf(f"{C1}_l{i}") for i in range(1, 5)], name="Course One", channel=CHANNEL)
    c2 = course(C2, [leaf(f"{C2}_l{i}") for i in range(1, 3)], name="Course Two", channel=CHANNEL)

    def done(course_id: str, n: int) -> dict:
        return {f"{course_id}_l{i}": 2 for i in range(1, n + 1)}

    def at(days_ago: int) -> str:
        return f"{day(days_ago, today)}T10:00:00Z"

    enrolments = [
        enrolment("t1", C1, B1, contentstatus=done(C1, 4), enrolled_date=at(0),
                  completedon=at(0), issued_certificates=[{"id": "cert-1"}]),
        enrolment("t2", C1, B1, contentstatus=done(C1, 1), enrolled_date=at(0)),
        enrolment("t3", C1, B1, contentstatus=done(C1, 2), enrolled_date=at(3)),
        enrolment("t4", C1, B1, contentstatus=done(C1, 3), enrolled_date=at(20)),
        enrolment("t5", C1, B1, contentstatus={}, enrolled_date=at(100)),
        enrolment("t1", C2, B2, contentstatus=done(C2, 1), enrolled_date=at(3)),
        enrolment("t3", C2, B2, contentstatus=done(C2, 2), enrolled_date=at(40)),
    ]  # fmt: skip
    users = [
        {"userid": u, "firstname": u.upper(), "lastname": "Teacher", "state": "Test State", "district": d}
        for u, d in (("t1", "D1"), ("t2", "D1"), ("t3", "D1"), ("t4", "D2"), ("t5", "D2"))
    ]
    return write_source(
        folder,
        course_batch=[batch(B1, C1, name="Batch One"), batch(B2, C2, name="Batch Two")],
        user_enrolments=enrolments,
        content_hierarchy=[hierarchy_row(c1), hierarchy_row(c2)],
        users=users,
    )


# ---- cQube emission files (the emission ingestion's raw names) ------------------------------------
MAPPING_CSV = """Diksha UUID,State,District,School Name,School UDISE ID,Status
t1,Test State,D1,S1,75010101001,SUBMITTED
t2,Test State,D1,S1,75010101001,SUBMITTED
t3,Test State,D1,S2,75010201001,SUBMITTED
t4,Test State,D2,S3,75020301001,SUBMITTED
t6,Test State,D2,S3,75020301001,SUBMITTED
"""
BATCH_IDS_CSV = f"batchIdList\n{B1}\n{B2}\n"

# Masters, cQube's state layout (pipe-delimited): 2 districts, 3 blocks, 3 clusters, 4 schools (S4 has no
# teachers). t6 is a mapped teacher who did not enrol (counts in percentage_teachers' denominator).
DISTRICT_MST = "DistrictId|District\n7501|D1\n7502|D2\n"
BLOCK_MST = "BlockId|Block|DistrictId\n750101|B1|7501\n750102|B2|7501\n750203|B3|7502\n"
CLUSTER_MST = "ClusterId|Cluster|BlockId|DistrictId\n75010101|C1|750101|7501\n75010201|C2|750102|7501\n75020301|C3|750203|7502\n"
SCHOOL_HEADER = "SchoolId|School|lowclass|highclass|SchMgt|SchCat|SchoolMedium|StateId|DistrictId|BlockId|ClusterId|Latitude|Longitude"
SCHOOL_MST = (
    SCHOOL_HEADER
    + "\n75010101001|S1|1|8|1|1|1|75|7501|750101|75010101|15.1|73.9"
    + "\n75010201001|S2|1|8|1|1|1|75|7501|750102|75010201|15.2|73.8"
    + "\n75020301001|S3|1|8|1|1|1|75|7502|750203|75020301|15.3|73.7"
    + "\n75010101002|S4|1|8|1|1|1|75|7501|750101|75010101|15.4|73.6\n"
)
MASTERS = {
    "district_mst": DISTRICT_MST,
    "block_mst": BLOCK_MST,
    "cluster_mst": CLUSTER_MST,
    "school_mst": SCHOOL_MST,
}


def emit(engine, folder: Path, files: dict[str, str]) -> dict[str, str]:
    """Ingest emitted files through the emission ingestion; returns each file's status."""
    from exhaust.emission.ingest import ingest_csv

    folder.mkdir(parents=True, exist_ok=True)
    statuses = {}
    for name, text in files.items():
        path = folder / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        result = ingest_csv(engine, name, path)
        statuses[name] = result.status if result.status == "OK" else f"KO: {result.reason}"
    return statuses
