"""The batch figures computed in the test, straight from the learners table of `data.py` (no engine)."""

from __future__ import annotations

from tests.dashboard.data import LEARNERS, LEAVES


def progress_of(done: int, status: int, completed_on: str | None) -> int:
    if status == 2 or completed_on:
        return 100
    return min(100, (200 * done + len(LEAVES)) // (2 * len(LEAVES)))


def expected_summary() -> dict:
    rows = list(LEARNERS.values())
    completed = [r for r in rows if r[1] == 2 or r[2]]
    buckets = [0] * 11
    for done, status, completed_on, *_ in rows:
        progress = progress_of(done, status, completed_on)
        buckets[10 if progress >= 100 else progress // 10] += 1
    districts: dict[str, list[int]] = {}
    blocks: dict[str, list[int]] = {}
    for _done, status, completed_on, _cert, district, block in rows:
        finished = int(status == 2 or bool(completed_on))
        for table, name in ((districts, district or ""), (blocks, block or "")):
            table.setdefault(name, [0, 0])
            table[name][0] += 1
            table[name][1] += finished
    return {
        "enrolled": len(rows),
        "completed": len(completed),
        "percent": round(100 * len(completed) / len(rows), 1),
        "certificates": sum(1 for r in rows if r[3]),
        "distribution": buckets,
        "districts": districts,
        "blocks": blocks,
    }
