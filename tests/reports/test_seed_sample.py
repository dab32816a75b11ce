"""The seed sample (seeds 000/001): hand-built input whose progress exhaust equals the two sample rows."""

from __future__ import annotations

import csv
from pathlib import Path

from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from tests.builders import assessment, batch, course, enrolment, hierarchy_row, leaf, unit, write_source

GOLDEN = Path(__file__).parents[1] / "golden" / "progress_seed_sample.csv"
COURSE = "do_1130934466492252161819"
BATCH = "0130934495109529602"
NESTED_A = "do_1130934418641469441813"
NESTED_B = "do_1130934445218283521816"
QUIZ = "do_1130934418641469441786"
USER_1 = "f703de4e-d47a-4adb-856c-de122e6a0b32"
USER_2 = "587204af-41db-4313-b3ab-cf022d3055c6"


def seed_source(folder: Path) -> Path:
    """Unit 1 holds two nested trackable courses: A with 2 leaves, B with 4 leaves and the quiz."""
    tree = course(
        COURSE,
        [
            unit(
                "do_unit1",
                [
                    unit(NESTED_A, [leaf("a1"), leaf("a2")], trackable=True),
                    unit(
                        NESTED_B,
                        [leaf("b1"), leaf("b2"), leaf("b3"), leaf("b4"), assessment(QUIZ)],
                        trackable=True,
                    ),
                ],
            )
        ],
    )
    return write_source(
        folder,
        course_batch=[batch(BATCH, COURSE, "Batch1")],
        content_hierarchy=[hierarchy_row(tree)],
        user_enrolments=[
            enrolment(
                USER_1,
                COURSE,
                BATCH,
                status=2,
                enrolled_date="2020-08-25T13:45:54.150Z",
                completedon="2020-08-27 13:45:54.150+0000",
                contentstatus={"a1": 2, "a2": 2, "b1": 2, "b2": 2, "b3": 2, "b4": 2, QUIZ: 2},
                issued_certificates=[{"name": "Course completion", "id": "cert-1"}],
            ),
            # enrolled at 07:45:58.691 in India = 02:15:58.691 UTC; 4 of 7 leaves done → 57, A 1/2 → 50, B 3/5 → 60
            enrolment(
                USER_2,
                COURSE,
                BATCH,
                enrolled_date="2020-08-25T07:45:58.691+05:30",
                contentstatus={"a1": 2, "a2": 1, "b1": 2, "b2": 2, QUIZ: 1, "b3": 2},
            ),
        ],
        users=[
            {
                "userid": USER_1,
                "firstname": "Mathew",
                "lastname": "Pallan",
                "state": "Kerala",
                "district": "Thrissur",
            },
            {
                "userid": USER_2,
                "firstname": "Krishna",
                "lastname": "Jampana",
                "state": "Andhra Pradesh",
                "district": "Vizag",
            },
        ],
        assessment_aggregator=[
            {
                "course_id": COURSE,
                "batch_id": BATCH,
                "user_id": USER_1,
                "content_id": QUIZ,
                "attempt_id": "t1",
                "total_score": 7,
                "total_max_score": 10,
                "grand_total": "7.0/10.0",
                "last_attempted_on": "2020-08-26T10:00:00Z",
            },
            {
                "course_id": COURSE,
                "batch_id": BATCH,
                "user_id": USER_2,
                "content_id": QUIZ,
                "attempt_id": "t2",
                "total_score": 4,
                "total_max_score": 10,
                "grand_total": "4.0/10.0",
                "last_attempted_on": "2020-08-26T10:00:00Z",
            },
            {
                "course_id": COURSE,
                "batch_id": BATCH,
                "user_id": USER_2,
                "content_id": QUIZ,
                "attempt_id": "t3",
                "total_score": 6,
                "total_max_score": 10,
                "grand_total": "6.0/10.0",
                "last_attempted_on": "2020-08-26T11:00:00Z",
            },
        ],
    )


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_progress_exhaust_equals_seed_sample(tmp_path: Path) -> None:
    source = open_source(str(seed_source(tmp_path / "src")))
    out = tmp_path / "progress.csv"
    result = build_report(source, "progress-exhaust", BATCH, out)
    assert result.rows == 2
    assert read_rows(out) == read_rows(GOLDEN)


def test_seed_sample_file_is_plain_rfc4180(tmp_path: Path) -> None:
    source = open_source(str(seed_source(tmp_path / "src")))
    out = tmp_path / "progress.csv"
    build_report(source, "progress-exhaust", BATCH, out)
    text = out.read_bytes().decode("utf-8")
    assert "\r" not in text and text.endswith("\n")
    assert text.splitlines()[1].startswith(
        f"{COURSE},Test Course,{BATCH},Batch1,{USER_2},Krishna Jampana,Andhra Pradesh,Vizag,"
    )
