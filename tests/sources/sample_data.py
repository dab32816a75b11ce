"""A small data set touching every table and every column type, with two batches to tell apart."""

from __future__ import annotations

from pathlib import Path

from tests.builders import (
    assessment,
    batch,
    course,
    enrolment,
    hierarchy_row,
    leaf,
    unit,
    write_source,
)

C1, C2 = "do_course_1", "do_course_2"
B1, B2 = "batch-1", "batch-2"


def question(qid: str, score: float, when: str) -> dict:
    return {
        "id": qid,
        "assess_ts": when,
        "max_score": 1.0,
        "score": score,
        "type": "mcq",
        "title": f"Question {qid} — ಪ್ರಶ್ನೆ",
        "resvalues": [{"1": '{"text":"A"}'}],
        "params": [{"1": '{"text":"A"}'}, {"answer": '{"correct":["1"]}'}],
        "description": None,
        "duration": 1.5,
    }


def write_sample(folder: Path) -> Path:
    """Write the sample as JSONL files of the logical tables."""
    tree1 = course(
        C1,
        [
            unit("do_unit_1", [leaf("do_l1"), leaf("do_l2")], trackable=True),
            leaf("do_l3"),
            assessment("do_a1"),
        ],
        name="Course One",
        leafNodesCount=4,
    )
    tree2 = course(C2, [leaf("do_m1"), assessment("do_a2")], name="Course Two", channel="channel-2")
    cert = {"name": "Completion", "id": "cert-1", "lastIssuedOn": "2020-08-30"}
    return write_source(
        folder,
        course_batch=[
            batch(
                B1,
                C1,
                "Batch One",
                start_date="2020-01-20",
                end_date="2020-12-31",
                created_for=["org-1"],
                mentors=["m1", "m2"],
                enrollment_type="open",
            ),
            batch(B2, C2, "Batch Two", start_date="2021-02-01", created_for=["org-2"], mentors=[]),
        ],
        content_hierarchy=[hierarchy_row(tree1), hierarchy_row(tree2)],
        user_enrolments=[
            enrolment(
                "u1",
                C1,
                B1,
                enrolled_date="2020-08-25T13:45:54.150Z",
                completedon="2020-08-30T10:00:00Z",
                status=2,
                progress=100,
                contentstatus={"do_l1": 2, "do_l2": 2, "do_l3": 2, "do_a1": 2},
                certificates=[cert],
                issued_certificates=[],
            ),
            enrolment(
                "u2",
                C1,
                B1,
                enrolleddate="2019-11-13 05:41:50:382+0000",
                contentstatus={"do_l2": 2, "do_l1": 1},
                progress=25,
                certstatus=3,
            ),
            enrolment("u3", C1, B1, active=False, enrolled_date="2020-09-01T00:00:00Z"),
            enrolment("u4", C1, B1, enrolled_date="2020-09-02T08:30:00.001Z", issued_certificates=[cert]),
            enrolment("u5", C1, B1, enrolled_date="2020-09-03T00:00:00Z", contentstatus={}),
            enrolment("u1", C2, B2, enrolled_date="2021-03-01T00:00:00Z", contentstatus={"do_m1": 2}),
            enrolment("u6", C2, B2, enrolled_date="2021-03-02T00:00:00Z"),
        ],
        users=[
            {
                "userid": "u1",
                "firstname": "Manju",
                "lastname": "Kapoor",
                "state": "Karnataka",
                "district": "Bengaluru",
                "board": '["IGOT-Health"]',
                "orgname": "Root Org",
            },
            {"userid": "u2", "firstname": "Mahesh", "state": "Andhra Pradesh", "district": "Guntur"},
            {"userid": "u3", "firstname": "Sowmya", "lastname": "", "state": "Karnataka"},
            {
                "userid": "u4",
                "firstname": "ಅನಿತಾ",
                "lastname": "=Rao",
                "state": "Karnataka",
                "district": "Mysuru",
            },
            {"userid": "u6", "firstname": "Isha", "state": "MP", "district": "Jhansi"},
        ],
        user_activity_agg=[
            {
                "activity_type": "Course",
                "activity_id": C1,
                "user_id": "u4",
                "context_id": f"cb:{B1}",
                "aggregates": {"completedCount": 2.0},
            },
            {
                "activity_type": "Course",
                "activity_id": "do_unit_1",
                "user_id": "u4",
                "context_id": f"cb:{B1}",
                "aggregates": {"completedCount": 1.0},
            },
            {
                "activity_type": "Course",
                "activity_id": C2,
                "user_id": "u6",
                "context_id": f"cb:{B2}",
                "aggregates": {"completedCount": 1.0, "score:do_a2": 3.0},
            },
        ],
        assessment_aggregator=[
            {
                "course_id": C1,
                "batch_id": B1,
                "user_id": "u1",
                "content_id": "do_a1",
                "attempt_id": "at1",
                "last_attempted_on": "2020-08-26T10:00:00Z",
                "total_score": 1.0,
                "total_max_score": 2.0,
                "grand_total": "1.0/2.0",
                "question": [
                    question("q1", 1.0, "2020-08-26T09:59:00Z"),
                    question("q2", 0.0, "2020-08-26T10:00:00Z"),
                ],
            },
            {
                "course_id": C1,
                "batch_id": B1,
                "user_id": "u1",
                "content_id": "do_a1",
                "attempt_id": "at2",
                "last_attempted_on": "2020-08-27T10:00:00.123Z",
                "total_score": 1.5,
                "total_max_score": 2.0,
                "grand_total": "1.5/2.0",
                "question": [question("q1", 1.5, "2020-08-27T10:00:00Z")],
            },
            {
                "course_id": C1,
                "batch_id": B1,
                "user_id": "u2",
                "content_id": "do_a1",
                "attempt_id": "at3",
                "last_attempted_on": "2020-08-28T10:00:00Z",
                "total_score": 6.5,
                "total_max_score": 10.0,
                "grand_total": "6.5/10.0",
                "question": None,
            },
            {
                "course_id": C2,
                "batch_id": B2,
                "user_id": "u6",
                "content_id": "do_a2",
                "attempt_id": "at4",
                "last_attempted_on": "2021-03-05T10:00:00Z",
                "total_score": 3.0,
                "total_max_score": 5.0,
                "grand_total": "3.0/5.0",
                "question": [],
            },
        ],
        user_consent=[
            {
                "user_id": "u1",
                "consumer_id": "channel-1",
                "object_id": C1,
                "object_type": "Collection",
                "status": "ACTIVE",
                "created_on": "2020-08-25T00:00:00Z",
                "last_updated_on": "2020-08-26T00:00:00Z",
            },
            {
                "user_id": "u2",
                "consumer_id": "channel-1",
                "object_id": C1,
                "object_type": "Collection",
                "status": "REVOKED",
                "created_on": "2020-08-25T00:00:00Z",
                "last_updated_on": None,
            },
            {
                "user_id": "u6",
                "consumer_id": "channel-2",
                "object_id": C2,
                "object_type": "Collection",
                "status": "ACTIVE",
                "created_on": "2021-03-01T00:00:00Z",
                "last_updated_on": "2021-03-01T00:00:00Z",
            },
        ],
        system_settings=[{"id": "custodianOrgId", "field": "custodianOrgId", "value": "0130107621805015045"}],
    )
