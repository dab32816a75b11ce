"""The Sunbird Lern compatibility layout of the progress exhaust (SPEC §3.5, research §3.4-3.5)."""

from __future__ import annotations

import csv
from pathlib import Path

from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from tests.builders import assessment, batch, course, enrolment, hierarchy_row, leaf, write_source

C, B = "do_course", "batch-001"


def test_sunbird_lern_layout(tmp_path: Path) -> None:
    tree = course(C, [leaf("l1"), assessment("do_z"), assessment("do_a")])
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C, "Basic Java")],
        content_hierarchy=[hierarchy_row(tree)],
        user_enrolments=[
            enrolment("u1", C, B, enrolled_date="2019-11-16T05:41:50Z", completedon="2020-01-02T23:59:00Z"),
            enrolment("u2", C, B, enrolleddate="2019-11-15 05:41:50:382+0000"),
        ],
        users=[
            {"userid": "u1", "board": '["IGOT-Health"]', "cluster": "CLUSTER1", "usertype": "administrator"}
        ],
        assessment_aggregator=[
            {
                "course_id": C,
                "batch_id": B,
                "user_id": "u1",
                "content_id": "do_z",
                "attempt_id": "a",
                "total_score": 8,
                "total_max_score": 10,
                "grand_total": "8.0/10.0",
            },
            {
                "course_id": C,
                "batch_id": B,
                "user_id": "u1",
                "content_id": "do_a",
                "attempt_id": "b",
                "total_score": 7,
                "total_max_score": 100,
                "grand_total": "7",
            },
        ],
    )
    out = tmp_path / "lern.csv"
    build_report(
        open_source(str(folder)), "progress-exhaust", B, out, profile="progress-exhaust-sunbird-lern"
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:6] == [
        "Collection Id",
        "Collection Name",
        "Batch Id",
        "Batch Name",
        "User UUID",
        "State",
    ]
    assert list(rows[0])[-3:] == ["Total Score", "do_a - Score", "do_z - Score"]  # sorted by id
    u1, u2 = rows
    assert u1["Batch Id"] == "BatchId_batch-001"
    assert (u1["Enrolment Date"], u1["Completion Date"], u2["Enrolment Date"]) == (
        "16/11/2019",
        "02/01/2020",
        "15/11/2019",
    )
    assert (u1["Declared Board"], u1["Cluster Name"], u1["User Type"]) == (
        "IGOT-Health",
        "CLUSTER1",
        "administrator",
    )
    assert u1["Total Score"] == "14%"  # ceil(15 * 100 / 110) = ceil(13.6)
    assert (u1["do_z - Score"], u1["do_a - Score"]) == ("80%", "")  # a grand_total without "/" is blank
    assert (u2["Total Score"], u2["do_z - Score"]) == ("", "")
