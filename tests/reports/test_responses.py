"""Response exhaust (SPEC §3.3): one row per attempt x question of this batch, JSON options, Registration rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from tests.builders import assessment, batch, course, enrolment, hierarchy_row, leaf, write_source

C, B, CHANNEL = "do_course", "batch-1", "org-a"


def question(
    qid: str, score: float, *, title: str = "Which planet has the most moons?\n", qtype: str = "mcq"
) -> dict:
    return {
        "id": qid,
        "type": qtype,
        "title": title,
        "description": "",
        "duration": 3.0,
        "score": score,
        "max_score": 1,
        "params": [
            {"1": '{"text":"Venus\\n"}'},
            {"2": '{"text":"Jupiter\\n"}'},
            {"answer": '{"correct":["2"]}'},
        ],
        "resvalues": [{"2": '{"text":"Jupiter\\n"}'}],
        "assess_ts": "2020-01-09T05:47:44Z",
    }


def attempt(user: str, content: str, attempt_id: str, questions: list[dict], batch_id: str = B) -> dict:
    return {
        "course_id": C,
        "batch_id": batch_id,
        "user_id": user,
        "content_id": content,
        "attempt_id": attempt_id,
        "last_attempted_on": "2020-01-09T05:47:44Z",
        "total_score": 1,
        "total_max_score": 2,
        "question": questions,
    }


def build(tmp_path: Path) -> list[dict]:
    tree = course(
        C,
        [
            leaf("l1"),
            assessment("qs-1", name="Test Questionset"),
            leaf("reg", name="Sign up", objectType="QuestionSet", primaryCategory="Registration"),
        ],
        channel=CHANNEL,
    )
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        content_hierarchy=[hierarchy_row(tree)],
        user_enrolments=[enrolment("u1", C, B), enrolment("u2", C, B)],
        users=[
            {"userid": "u1", "firstname": "Mathew", "lastname": "Pallan"},
            {"userid": "u2", "firstname": "Krishna"},
        ],
        user_consent=[{"user_id": "u1", "consumer_id": CHANNEL, "object_id": C, "status": "ACTIVE"}],
        assessment_aggregator=[
            attempt("u1", "qs-1", "att-2", [question("q1", 1), question("q2", 0.33, qtype="mtf")]),
            attempt("u1", "qs-1", "att-1", [question("q1", 0)]),
            attempt("u2", "qs-1", "att-3", [question("q1", 1)]),
            attempt(
                "u2", "qs-1", "att-x", [question("q1", 1)], batch_id="batch-2"
            ),  # another batch: left out
            attempt("u1", "reg", "r1", [question("name", 0, title="Your name")]),
            attempt("u2", "reg", "r2", [question("name", 0, title="Your name")]),
        ],
    )
    out = tmp_path / "responses.csv"
    build_report(open_source(str(folder)), "response-exhaust", B, out, requested_channel=CHANNEL)
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_row_per_attempt_and_question_in_order(tmp_path: Path) -> None:
    rows = build(tmp_path)
    keys = [(r["User UUID"], r["QuestionSet Id"], r["Attempt Id"], r["Question Id"]) for r in rows]
    assert keys == [
        ("u1", "qs-1", "att-1", "q1"),
        ("u1", "qs-1", "att-2", "q1"),
        ("u1", "qs-1", "att-2", "q2"),
        ("u1", "reg", "r1", "name"),
        ("u2", "qs-1", "att-3", "q1"),
        ("u2", "reg", "r2", "name"),
    ]
    first = rows[1]
    assert first["QuestionSet Title"] == "Test Questionset" and first["User Name"] == "Mathew Pallan"
    assert first["Attempted On"] == "2020-01-09 05:47:44:000+0000"
    assert (
        first["Question Type"],
        first["Question Duration"],
        first["Question Score"],
        first["Question Max Score"],
    ) == ("mcq", "3", "1", "1")
    assert rows[2]["Question Score"] == "0.33" and rows[2]["Question Type"] == "mtf"
    assert first["Question Title"] == "Which planet has the most moons?\n"


def test_options_and_responses_are_valid_json(tmp_path: Path) -> None:
    rows = build(tmp_path)
    for row in rows:
        options = json.loads(row["Question Options"])
        assert options[0] == {"1": '{"text":"Venus\\n"}'}
        assert json.loads(options[2]["answer"]) == {"correct": ["2"]}
    assert json.loads(rows[0]["Question Response"]) == [{"2": '{"text":"Jupiter\\n"}'}]


def test_registration_responses_only_with_consent(tmp_path: Path) -> None:
    rows = {(r["User UUID"], r["QuestionSet Id"]): r for r in build(tmp_path)}
    assert rows[("u1", "reg")]["Question Response"] != ""  # u1 consented
    assert rows[("u2", "reg")]["Question Response"] == ""  # u2 did not
    assert rows[("u2", "qs-1")]["Question Response"] != ""  # other question sets are not consent-bound
    assert rows[("u2", "reg")]["QuestionSet Title"] == "Sign up"


def test_built_in_chunks_of_learners_gives_the_same_file(tmp_path: Path) -> None:
    from exhaust.settings import Settings

    build(tmp_path / "whole")
    whole = (tmp_path / "whole" / "responses.csv").read_bytes()
    folder = tmp_path / "whole" / "src"
    out = tmp_path / "chunked.csv"
    result = build_report(
        open_source(str(folder)), "response-exhaust", B, out, requested_channel=CHANNEL,
        settings=Settings(report_chunk_learners=1),
    )  # fmt: skip
    assert out.read_bytes() == whole
    assert result.rows == 6 and result.headers[0] == "Collection Id"
