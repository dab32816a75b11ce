"""Rules added for Sunbird parity, on small hand-checked data: question-less attempts, the archive merge,
collection metadata before the hierarchy, and value formats an operator's own profile can set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from exhaust.errors import BadInput, ExhaustError, HierarchyNotFound
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.base import Source
from exhaust.sources.open import open_source
from exhaust.sources.sunbird_fixture import StaticSearch
from tests.builders import assessment, batch, course, enrolment, hierarchy_row, write_source

C, B = "do_c", "b1"


def rows_of(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def attempt(user: str, attempt_id: str, questions: list[dict] | None) -> dict:
    return {"course_id": C, "batch_id": B, "user_id": user, "content_id": "do_qs", "attempt_id": attempt_id,
            "last_attempted_on": "2021-07-15T05:30:00Z", "question": questions}  # fmt: skip


def question(qid: str, score: float) -> dict:
    return {"id": qid, "type": "mcq", "score": score, "max_score": 1, "duration": 2}


def test_attempts_without_questions_and_archived_attempts(tmp_path: Path) -> None:
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        content_hierarchy=[hierarchy_row(course(C, [assessment("do_qs")]))],
        user_enrolments=[enrolment("u1", C, B), enrolment("u2", C, B), enrolment("u3", C, B)],
        assessment_aggregator=[
            attempt("u1", "a1", [question("q1", 1), question("q2", 0)]),
            attempt("u2", "a1", []),  # no questions: still one row
            attempt("u3", "a1", None),
        ],
    )
    archive = tmp_path / "archive" / f"{B}_{C}"
    archive.mkdir(parents=True)
    header = "content_id,attempt_id,user_id,course_id,batch_id,last_attempted_on,question"
    lines = [
        header,
        # q1 of u1/a1 is live too (the live score 1 wins); q3 is only archived; u1/a0 is an older attempt
        f"do_qs,a1,u1,{C},{B},1626327000000,{escaped([question('q1', 0.5), question('q3', 1)])}",
        f"do_qs,a0,u1,{C},{B},1626327000000,[]",
        f"do_qs,a1,u2,{C},{B},null,[]",  # the same question-less attempt as the live one: one row
    ]
    (archive / "2021-28-1626351011290.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "responses.csv"
    source = open_source(str(folder), Settings(assessment_archive_url=str(tmp_path / "archive")))
    build_report(source, "response-exhaust", B, out)
    got = [(r["User UUID"], r["Attempt Id"], r["Question Id"], r["Question Score"]) for r in rows_of(out)]
    assert got == [
        ("u1", "a0", "", ""),
        ("u1", "a1", "q1", "1"),
        ("u1", "a1", "q2", "0"),
        ("u1", "a1", "q3", "1"),
        ("u2", "a1", "", ""),
        ("u3", "a1", "", ""),
    ]


def escaped(questions: list[dict]) -> str:
    """JSON text in Spark's CSV escaping (backslash before quotes and backslashes)."""
    return '"' + json.dumps(questions).replace("\\", "\\\\").replace('"', '\\"') + '"'


def no_hierarchy_source(tmp_path: Path, record: dict) -> Source:
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        user_enrolments=[enrolment("u1", C, B)],
        users=[{"userid": "u1", "firstname": "Asha"}],
        user_consent=[{"user_id": "u1", "consumer_id": "org", "object_id": C, "status": "ACTIVE"}],
    )
    plain = open_source(str(folder), Settings())
    return Source(plain.tables, search=StaticSearch([{"identifier": C, **record}]))


def test_the_search_record_is_enough_for_reports_that_do_not_need_the_tree(tmp_path: Path) -> None:
    source = no_hierarchy_source(tmp_path, {"name": "From Search", "status": "Live", "userConsent": "Yes"})
    out = tmp_path / "userinfo.csv"
    build_report(source, "userinfo-exhaust", B, out, requested_channel="org")
    (row,) = rows_of(out)
    assert (row["Collection Name"], row["User Name"], row["Consent Provided"]) == (
        "From Search",
        "Asha",
        "Yes",
    )
    with pytest.raises(HierarchyNotFound):
        build_report(source, "progress-exhaust", B, tmp_path / "progress.csv")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"status": "Retired", "userConsent": "Yes"}, "The request is made for retired collection"),
        ({"status": "Live"}, "User info exhaust is not applicable for collections which don't request"),
    ],
)
def test_the_search_record_refuses_before_the_tree_is_read(
    tmp_path: Path, record: dict, message: str
) -> None:
    with pytest.raises(ExhaustError, match=message):
        build_report(no_hierarchy_source(tmp_path, record), "userinfo-exhaust", B, tmp_path / "u.csv")


OPERATOR_PROFILE = """
name = "mentor-sheet"
dataset = "userinfo-exhaust"
rows = "consent_given"
timestamp_format = "%Y-%m-%d"

[formats]
true = "Y"
false = "N"

[[columns]]
header = "Learner"
field = "user_id"

[[columns]]
header = "Consented"
field = "consent_given"

[[columns]]
header = "On"
field = "consent_provided_date"
date = "%d.%m.%Y"

[[columns]]
header = "On (profile default)"
field = "consent_provided_date"
"""


def test_an_operator_profile_sets_value_formats_and_a_row_filter(tmp_path: Path) -> None:
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        content_hierarchy=[hierarchy_row(course(C, [], channel="org"))],
        user_enrolments=[enrolment("u1", C, B), enrolment("u2", C, B)],
        user_consent=[
            {"user_id": "u1", "consumer_id": "org", "object_id": C, "status": "ACTIVE",
             "last_updated_on": "2021-06-14T10:00:00Z"},
            {"user_id": "u2", "consumer_id": "org", "object_id": C, "status": "REVOKED"},
        ],
    )  # fmt: skip
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "mentor.toml").write_text(OPERATOR_PROFILE, encoding="utf-8")
    out = tmp_path / "sheet.csv"
    build_report(
        open_source(str(folder)), "userinfo-exhaust", B, out, profile="mentor-sheet",
        settings=Settings(profiles_dir=profiles),
    )  # fmt: skip
    assert (
        out.read_text(encoding="utf-8")
        == "Learner,Consented,On,On (profile default)\nu1,Y,14.06.2021,2021-06-14\n"
    )


def test_a_bad_value_format_is_a_clear_error(tmp_path: Path) -> None:
    from exhaust.reports.profiles import parse_profile

    text = 'name = "x"\ndataset = "response-exhaust"\ncolumns = [{ header = "S", field = "question_score", number = "java" }]'
    with pytest.raises(
        BadInput, match=r"^profile x\.toml: number format must be one of plain, decimal, not 'java'$"
    ):
        parse_profile(text, "x.toml")
