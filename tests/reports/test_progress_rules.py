"""One small hand-checked case per rule of SPEC §3.1 and §3.6."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from exhaust.errors import BatchNotFound, HierarchyNotFound
from exhaust.reports.build import build_report
from exhaust.sources.open import open_source
from tests.builders import assessment, batch, course, enrolment, hierarchy_row, leaf, unit, write_source

C, B = "do_course", "batch-1"


def four_leaves(**extra) -> dict:
    return course(C, [leaf("l1"), leaf("l2"), leaf("l3"), leaf("l4")], **extra)


def run(tmp_path: Path, tree: dict | None = None, *, enrolments: list[dict], **tables) -> list[dict]:
    """Build the progress exhaust of batch-1 and return its rows as dicts keyed by header."""
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        content_hierarchy=[hierarchy_row(tree or four_leaves())],
        user_enrolments=enrolments,
        **tables,
    )
    out = tmp_path / "out.csv"
    build_report(open_source(str(folder)), "progress-exhaust", B, out)
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def one(tmp_path: Path, tree: dict | None = None, **fields) -> dict:
    tables = {
        k: fields.pop(k) for k in list(fields) if k in ("users", "user_activity_agg", "assessment_aggregator")
    }
    rows = run(tmp_path, tree, enrolments=[enrolment("u1", C, B, **fields)], **tables)
    assert len(rows) == 1
    return rows[0]


def test_enrolment_date_from_enrolled_date_first(tmp_path: Path) -> None:
    row = one(tmp_path, enrolled_date="2019-11-16T05:41:50Z", enrolleddate="2019-11-13 05:41:50:382+0000")
    assert row["Enrolment Date"] == "2019-11-16 05:41:50:000+0000"


def test_enrolment_date_from_legacy_text(tmp_path: Path) -> None:
    row = one(tmp_path, enrolleddate="2019-11-13 05:41:50:382+0000")
    assert row["Enrolment Date"] == "2019-11-13 05:41:50:382+0000"


def test_dates_converted_to_utc(tmp_path: Path) -> None:
    row = one(
        tmp_path, enrolled_date="2020-08-25T19:15:54.150+05:30", completedon="2020-08-27 08:00:00.000-0400"
    )
    assert row["Enrolment Date"] == "2020-08-25 13:45:54:150+0000"
    assert row["Completion Date"] == "2020-08-27 12:00:00:000+0000"


def test_completedon_gives_100_whatever_the_count(tmp_path: Path) -> None:
    row = one(tmp_path, completedon="2020-08-27T00:00:00Z", contentstatus={"l1": 2})
    assert row["Progress"] == "100"


def test_status_2_gives_100(tmp_path: Path) -> None:
    assert one(tmp_path, status=2, contentstatus={"l1": 1})["Progress"] == "100"


@pytest.mark.parametrize(
    ("done", "leaves", "expected"), [(1, 8, "13"), (5, 8, "63"), (1, 3, "33"), (2, 3, "67")]
)
def test_round_half_up(tmp_path: Path, done: int, leaves: int, expected: str) -> None:
    tree = course(C, [leaf(f"l{i}") for i in range(leaves)])
    statuses = {f"l{i}": 2 for i in range(done)}
    assert one(tmp_path, tree, contentstatus=statuses)["Progress"] == expected


def test_leaf_nodes_count_wins_over_the_tree(tmp_path: Path) -> None:
    tree = four_leaves(leafNodesCount=8)
    assert one(tmp_path, tree, contentstatus={"l1": 2})["Progress"] == "13"


def test_leaves_counted_from_tree_when_count_absent(tmp_path: Path) -> None:
    # 3 of 4 leaves completed; status 1 entries and unknown ids do not count
    row = one(tmp_path, contentstatus={"l1": 2, "l2": 2, "l3": 2, "l4": 1, "elsewhere": 2})
    assert row["Progress"] == "75"


def test_optional_nodes_not_counted(tmp_path: Path) -> None:
    from exhaust.engine.backend import DuckDBBackend
    from exhaust.engine.hierarchy import read_hierarchy
    from exhaust.engine.inputs import completed_ids
    from exhaust.sources.files import FileTables

    folder = write_source(
        tmp_path / "s", user_enrolments=[enrolment("u1", C, B, contentstatus={"l1": 2, "l2": 2})]
    )
    backend = DuckDBBackend()
    table = backend.table("enrolments", FileTables(folder).load("user_enrolments"))
    done = backend.execute(table.select(content_ids=completed_ids(table.contentstatus, {"l2"})))
    backend.close()
    assert done.column("content_ids").to_pylist() == [["l1"]]
    assert read_hierarchy(four_leaves()).root.leaves == 4


def test_never_above_100(tmp_path: Path) -> None:
    tree = four_leaves(leafNodesCount=2)
    assert one(tmp_path, tree, contentstatus={"l1": 2, "l2": 2, "l3": 2})["Progress"] == "100"


def test_no_leaves_gives_0_unless_completed(tmp_path: Path) -> None:
    tree = course(C, [unit("empty-unit", [])])
    rows = run(
        tmp_path,
        tree,
        enrolments=[enrolment("u1", C, B, contentstatus={"x": 2}), enrolment("u2", C, B, status=2)],
    )
    assert [r["Progress"] for r in rows] == ["0", "100"]


def agg(user: str, activity: str, context: str, count: int) -> dict:
    return {
        "activity_type": "Course",
        "activity_id": activity,
        "user_id": user,
        "context_id": context,
        "aggregates": {"completedCount": count},
    }


def test_activity_agg_fallback_for_this_batch_only(tmp_path: Path) -> None:
    rows = run(
        tmp_path,
        enrolments=[
            enrolment("u1", C, B),
            enrolment("u2", C, B),
            enrolment("u3", C, B, contentstatus={"l1": 2}),
        ],
        user_activity_agg=[
            agg("u1", C, f"cb:{B}", 3),
            agg("u2", C, "cb:other-batch", 4),  # another batch's context: ignored
            agg("u3", C, f"cb:{B}", 4),  # has contentstatus: the map wins
        ],
    )
    assert [r["Progress"] for r in rows] == ["75", "0", "25"]


DEEP = course(
    C,
    [
        unit("u-1", [leaf("x1"), unit("n-1.2", [leaf("y1"), leaf("y2")], trackable=True)]),
        unit(
            "u-2",
            [leaf("x2")],
        ),
        unit(
            "u-3",
            [
                unit(
                    "u-3.1",
                    [leaf("x3"), unit("n-3.1.2", [leaf("z1"), leaf("z2"), leaf("z3")], trackable=True)],
                )
            ],
        ),
        unit("u-1b", [unit("u-4.1", [unit("u-4.1.1", [])])]),
    ],
)


def test_nested_progress_and_levels_at_depth_3_and_4(tmp_path: Path) -> None:
    deeper = course(
        C,
        [
            unit(
                "u-1",
                [
                    leaf("a"),
                    unit(
                        "u-1.2",
                        [
                            leaf("b"),
                            unit(
                                "n-1.2.2",
                                [unit("n-1.2.2.1", [leaf("c"), leaf("d")], trackable=True)],
                                trackable=True,
                            ),
                        ],
                    ),
                ],
            ),
            unit("u-2", [unit("u-2.1", [leaf("e"), unit("n-2.1.2", [leaf("f")], trackable=True)])]),
        ],
    )
    rows = run(
        tmp_path,
        deeper,
        enrolments=[
            enrolment("u1", C, B, contentstatus={"c": 2, "f": 2, "a": 2}),
            enrolment("u2", C, B, completedon="2021-01-01T00:00:00Z"),
        ],
    )
    first = rows[0]
    assert first["n-1.2.2 - Level"] == "1.2.2"
    assert first["n-1.2.2.1 - Level"] == "1.2.2.1"
    assert first["n-2.1.2 - Level"] == "2.1.2"
    assert first["n-1.2.2 - Progress"] == "50"  # c of c, d
    assert first["n-1.2.2.1 - Progress"] == "50"
    assert first["n-2.1.2 - Progress"] == "100"
    assert first["Progress"] == "50"  # a, c, f of a b c d e f
    headers = list(first)
    assert headers[13:] == [
        "n-1.2.2 - Progress",
        "n-1.2.2 - Level",
        "n-1.2.2.1 - Progress",
        "n-1.2.2.1 - Level",
        "n-2.1.2 - Progress",
        "n-2.1.2 - Level",
    ]
    assert all(rows[1][h] == "100" for h in headers if h.endswith("Progress"))


def test_nested_fallback_uses_the_nodes_own_activity_row(tmp_path: Path) -> None:
    rows = run(
        tmp_path,
        DEEP,
        enrolments=[enrolment("u1", C, B)],
        user_activity_agg=[agg("u1", "n-1.2", f"cb:{B}", 1), agg("u1", C, f"cb:{B}", 2)],
    )
    assert rows[0]["n-1.2 - Progress"] == "50"
    assert rows[0]["n-3.1.2 - Progress"] == "0"  # no activity row for it
    assert rows[0]["Progress"] == "25"  # 2 of x1 y1 y2 x2 x3 z1 z2 z3
    assert rows[0]["n-3.1.2 - Level"] == "3.1.2"


def attempt(user: str, content: str, attempt_id: str, score: float, when: str, batch_id: str = B) -> dict:
    return {
        "course_id": C,
        "batch_id": batch_id,
        "user_id": user,
        "content_id": content,
        "attempt_id": attempt_id,
        "total_score": score,
        "total_max_score": 10,
        "last_attempted_on": when,
    }


QUIZ_TREE = course(C, [leaf("l1"), assessment("q1"), assessment("q2")])


def test_best_attempt_ties_and_other_batches(tmp_path: Path) -> None:
    rows = run(
        tmp_path,
        QUIZ_TREE,
        enrolments=[enrolment("u1", C, B), enrolment("u2", C, B), enrolment("u3", C, B)],
        assessment_aggregator=[
            attempt("u1", "q1", "a", 4, "2020-01-01T00:00:00Z"),
            attempt("u1", "q1", "b", 6.5, "2020-01-02T00:00:00Z"),
            attempt("u1", "q1", "c", 5, "2020-01-03T00:00:00Z"),
            attempt("u1", "q2", "d", 0, "2020-01-03T00:00:00Z"),  # a zero prints as 0
            attempt("u2", "q1", "e", 9, "2020-01-01T00:00:00Z", batch_id="batch-2"),  # another batch: ignored
            attempt("u3", "q2", "f", 3, "2020-01-01T00:00:00Z"),
            attempt("u3", "q2", "g", 3, "2020-01-05T00:00:00Z"),  # tie: the latest
            attempt("u3", "not-an-assessment", "h", 8, "2020-01-05T00:00:00Z"),
        ],
    )
    u1, u2, u3 = rows
    assert (u1["q1 - Score"], u1["q2 - Score"], u1["Total Score"]) == ("6.5", "0", "6.5")
    assert (u2["q1 - Score"], u2["q2 - Score"], u2["Total Score"]) == ("", "", "")
    assert (u3["q1 - Score"], u3["q2 - Score"], u3["Total Score"]) == ("", "3", "3")
    assert "not-an-assessment - Score" not in u3


def test_question_set_primary_category_counts_as_assessment(tmp_path: Path) -> None:
    tree = course(
        C,
        [
            leaf("pqs", objectType="QuestionSet", primaryCategory="Practice Question Set"),
            leaf("exam", objectType="QuestionSet", primaryCategory="Exam Question Set"),
        ],
    )
    rows = run(
        tmp_path,
        tree,
        enrolments=[enrolment("u1", C, B)],
        assessment_aggregator=[attempt("u1", "pqs", "a", 2, "2020-01-01T00:00:00Z")],
    )
    assert rows[0]["pqs - Score"] == "2"
    assert "exam - Score" not in rows[0]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"issued_certificates": [{"id": "c"}]}, "Issued"),
        ({"certificates": [{"id": "c"}]}, "Issued"),
        ({"certstatus": 3}, "Failed"),
        ({"certificates": [], "certstatus": 1}, ""),
    ],
)
def test_certificate_status(tmp_path: Path, fields: dict, expected: str) -> None:
    assert one(tmp_path, **fields)["Certificate Status"] == expected


def test_missing_user_keeps_a_row_with_blank_profile(tmp_path: Path) -> None:
    rows = run(
        tmp_path,
        enrolments=[enrolment("known", C, B), enrolment("ghost", C, B)],
        users=[
            {
                "userid": "known",
                "firstname": "Asha",
                "lastname": None,
                "state": "Goa",
                "district": "North Goa",
            }
        ],
    )
    by_id = {r["User UUID"]: r for r in rows}
    assert by_id["ghost"]["User Name"] == "" and by_id["ghost"]["State"] == ""
    assert by_id["known"]["User Name"] == "Asha" and by_id["known"]["District"] == "North Goa"


def test_inactive_and_other_course_enrolments_left_out(tmp_path: Path) -> None:
    rows = run(
        tmp_path,
        enrolments=[enrolment("u1", C, B), enrolment("u2", C, B, active=False), enrolment("u3", "other", B)],
    )
    assert [r["User UUID"] for r in rows] == ["u1"]


def test_empty_batch_gives_header_only_file(tmp_path: Path) -> None:
    folder = write_source(
        tmp_path / "src", course_batch=[batch(B, C)], content_hierarchy=[hierarchy_row(QUIZ_TREE)]
    )
    out = tmp_path / "out.csv"
    result = build_report(open_source(str(folder)), "progress-exhaust", B, out)
    assert result.rows == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == [
        "Collection Id,Collection Name,Batch Id,Batch Name,User UUID,User Name,State,District,"
        "Enrolment Date,Completion Date,Progress,Certificate Status,Total Score,q1 - Score,q2 - Score"
    ]


def test_formula_injection_and_odd_text(tmp_path: Path) -> None:
    users = [
        {"userid": "u1", "firstname": '=HYPERLINK("x")', "lastname": "", "state": "+91", "district": "-x"},
        {
            "userid": "u2",
            "firstname": "@me",
            "lastname": 'Ünïcødé, "Q"',
            "state": "\tTab",
            "district": "Bengaluru",
        },
    ]
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C, name='Batch, "one"')],
        content_hierarchy=[hierarchy_row(four_leaves(name="Maths: ಕನ್ನಡ"))],
        user_enrolments=[enrolment("u1", C, B), enrolment("u2", C, B, contentstatus={"l1": 2})],
        users=users,
    )
    out = tmp_path / "out.csv"
    build_report(open_source(str(folder)), "progress-exhaust", B, out)
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    assert rows[0]["User Name"] == '\'=HYPERLINK("x")'
    assert rows[0]["State"] == "'+91" and rows[0]["District"] == "'-x"
    assert rows[1]["User Name"] == '\'@me Ünïcødé, "Q"'
    assert rows[1]["State"] == "'\tTab"
    assert rows[1]["Batch Name"] == 'Batch, "one"' and rows[1]["Collection Name"] == "Maths: ಕನ್ನಡ"
    assert rows[1]["Progress"] == "25"  # numbers are never prefixed
    assert '"Batch, ""one"""' in text  # quotes doubled, quoted only where needed


def test_unknown_batch(tmp_path: Path) -> None:
    folder = write_source(
        tmp_path / "src", course_batch=[batch(B, C)], content_hierarchy=[hierarchy_row(QUIZ_TREE)]
    )
    with pytest.raises(BatchNotFound, match="batch nope not found"):
        build_report(open_source(str(folder)), "progress-exhaust", "nope", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_missing_hierarchy(tmp_path: Path) -> None:
    folder = write_source(tmp_path / "src", course_batch=[batch(B, C)])
    with pytest.raises(HierarchyNotFound, match="no content hierarchy for collection do_course"):
        build_report(open_source(str(folder)), "progress-exhaust", B, tmp_path / "x.csv")
