"""Small hand-written source folders for tests: JSONL files of the logical tables."""

from __future__ import annotations

import json
from pathlib import Path

COLLECTION = "application/vnd.ekstep.content-collection"


def leaf(identifier: str, **extra) -> dict:
    return {
        "identifier": identifier,
        "mimeType": "application/vnd.ekstep.content",
        "name": identifier,
        **extra,
    }


def assessment(identifier: str, **extra) -> dict:
    return leaf(identifier, contentType="SelfAssess", mimeType="application/vnd.ekstep.ecml-archive", **extra)


def unit(identifier: str, children: list[dict], trackable: bool = False, **extra) -> dict:
    node = {
        "identifier": identifier,
        "mimeType": COLLECTION,
        "name": identifier,
        "children": children,
        **extra,
    }
    if trackable:
        node["trackable"] = {"enabled": "Yes", "autoBatch": "No"}
    return node


def course(identifier: str, children: list[dict], name: str = "Test Course", **extra) -> dict:
    return {
        "identifier": identifier,
        "name": name,
        "mimeType": COLLECTION,
        "contentType": "Course",
        "channel": "channel-1",
        "status": "Live",
        "userConsent": "Yes",
        "trackable": {"enabled": "Yes"},
        "children": children,
        **extra,
    }


def write_source(folder: Path, **tables: list[dict]) -> Path:
    """Write each table as `<name>.jsonl`; the three required tables default to empty files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("course_batch", "user_enrolments", "content_hierarchy"):
        tables.setdefault(name, [])
    for name, rows in tables.items():
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


def hierarchy_row(tree: dict) -> dict:
    return {"identifier": tree["identifier"], "hierarchy": tree}


def enrolment(userid: str, courseid: str, batchid: str, **extra) -> dict:
    row = {"userid": userid, "courseid": courseid, "batchid": batchid, "active": True, "status": 1}
    row.update(extra)
    return row


def batch(batchid: str, courseid: str, name: str = "Batch1", **extra) -> dict:
    return {"batchid": batchid, "courseid": courseid, "name": name, "status": 1, **extra}
