"""The CQL INSERT reader: the upstream fixture files, every literal form, and malformed statements."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exhaust.errors import SourceDataError
from exhaust.sources.cql import parse_cql_inserts

EXHAUST = "lern-data-products/src/test/resources/exhaust"
CQL_FILES = [
    f"{EXHAUST}/report_data.cql",
    f"{EXHAUST}/progress-exhaust-v2.cql",
    f"release-7.0.0/{EXHAUST}/report_data.cql",
]


def _grep_counts(text: str) -> Counter:
    """What `grep -c 'INSERT INTO <ks>.<table>'` gives per table (each insert starts its own line)."""
    counts: Counter = Counter()
    for line in text.splitlines():
        match = re.search(r"INSERT INTO \w+\.(\w+)", line)
        if match:
            counts[match.group(1).lower()] += 1
    return counts


def _rows(text: str) -> list[tuple[int, str, dict]]:
    return list(parse_cql_inserts(text))


@pytest.mark.parametrize("relative", CQL_FILES)
def test_every_insert_of_the_upstream_files_parses(sunbird_fixtures: Path, relative: str) -> None:
    text = (sunbird_fixtures / relative).read_text(encoding="utf-8")
    rows = _rows(text)
    assert Counter(table for _, table, _ in rows) == _grep_counts(text)
    insert_lines = [n for n, line in enumerate(text.splitlines(), start=1) if "INSERT INTO" in line]
    assert [line for line, _, _ in rows] == insert_lines


def test_report_data_counts_per_table(sunbird_fixtures: Path) -> None:
    rows = _rows((sunbird_fixtures / CQL_FILES[0]).read_text(encoding="utf-8"))
    assert Counter(table for _, table, _ in rows) == {
        "course_batch": 7,
        "user_activity_agg": 13,
        "user_enrolments": 16,
        "assessment_aggregator": 7,
        "content_hierarchy": 3,
        "user_consent": 30,
        "system_settings": 1,
        "program_enrollment": 17,
    }


def test_question_udt_of_user_001(sunbird_fixtures: Path) -> None:
    rows = _rows((sunbird_fixtures / CQL_FILES[0]).read_text(encoding="utf-8"))
    (attempt,) = [r for _, t, r in rows if t == "assessment_aggregator" and r["user_id"] == "user-001"]
    assert attempt["attempt_id"] == "attempat-001"
    assert attempt["last_attempted_on"] == 1626327000000
    assert attempt["updated_on"] is None  # toTimeStamp(toDate(now()))
    questions = attempt["question"]
    assert [q["id"] for q in questions] == [
        "do_213019475454476288155",
        "do_213019970118279168165",
        "do_213019972814823424168",
        "do_2130256513760624641171",
    ]
    assert [q["type"] for q in questions] == ["mcq", "mcq", "mtf", "mcq"]
    assert [q["score"] for q in questions] == [1, 1, 0.33, 10]
    assert [q["max_score"] for q in questions] == [1, 1, 1, 10]
    assert [q["duration"] for q in questions] == [1.0, 1.0, 2.0, 12.0]
    assert questions[0]["assess_ts"] == "2020-06-18T18:15:56.490+0000"
    # CQL has no backslash escapes: the four backslashes and the `\n` are kept as written.
    assert questions[0]["params"] == [
        {"1": '{"text":"A=\\\\\\\\pi r^2\\n"}'},
        {"2": '{"text":"no\\n"}'},
        {"answer": '{"correct":["1"]}'},
    ]
    assert questions[0]["resvalues"] == [{"1": '{"text":"A=\\\\\\\\pi r^2\\n"}'}]
    assert questions[2]["params"][2] == {"answer": '{"lhs":["1","2","3"],"rhs":["3","1","2"]}'}


def test_consents_enrolments_and_maps(sunbird_fixtures: Path) -> None:
    rows = _rows((sunbird_fixtures / CQL_FILES[0]).read_text(encoding="utf-8"))
    consents = [r for _, t, r in rows if t == "user_consent"]
    assert Counter(r["status"] for r in consents) == {"active": 26, "REVOKED": 4}
    first = next(r for r in consents if r["user_id"] == "user-001")
    assert first == {
        "id": "user-001",
        "user_id": "user-001",
        "consumer_id": "b00bc992ef25f1a9a8d63291e20efc8d",
        "consumer_type": "ORGANISATION",
        "status": "active",
        "object_id": "do_1130928636168192001667",
        "last_updated_on": "2019-09-19T18:15:56.490+0000",
    }
    enrolment = next(r for _, t, r in rows if t == "user_enrolments" and r["userid"] == "user-001")
    assert enrolment["active"] is True
    assert enrolment["enrolleddate"] == "2019-11-13 05:41:50:382+0000"
    assert enrolment["enrolled_date"] == "2019-11-16 05:41:50"
    agg = next(r for _, t, r in rows if t == "user_activity_agg")
    assert agg["agg"] == {"completedCount": 1}
    program = next(r for _, t, r in rows if t == "program_enrollment")
    assert program["pii_consent_required"] is True
    assert program["user_locations"]["state_name"] == "Uttar Pradesh"
    assert "program_externalid" in program  # unquoted identifiers are lower-cased


def test_release_7_user_rows_span_lines(sunbird_fixtures: Path) -> None:
    rows = _rows((sunbird_fixtures / CQL_FILES[2]).read_text(encoding="utf-8"))
    users = [(line, r) for line, t, r in rows if t == "user"]
    assert [line for line, _ in users] == [86, 89, 92]
    user = users[0][1]
    assert user["userid"] == "56c2d9a3-fae9-4341-9862-4eeeead2e9a1"
    assert user["locationids"][0] == "0dd2b51d-baa2-4403-bf1e-012a970b323f"
    assert user["framework"] == {
        "id": ["NCF"],
        "board": ["NCF"],
        "medium": ["Tamil"],
        "gradeLevel": ["Class 1"],
        "subject": ["Social Science"],
    }
    assert "\\n" in user["email"] and "\n" not in user["email"]


def test_literal_forms() -> None:
    text = """
    -- a comment; with a semicolon and a 'quote
    CREATE TABLE ks.t (id text PRIMARY KEY, m map<text, int>);  // not an insert
    /* a block comment; INSERT INTO ks.nope (a) VALUES (1); */
    insert into KS.Things ("MixedCase", plain, "quo""te") values ('it''s; fine', -12, 3.5e2);
    INSERT INTO t (a, b, c, d, e, f, g, h, i)
      VALUES (
        {'k': 1, 'j': -2.5},            -- a map
        {3, 1, 2, 1},                   /* a set: sorted, de-duplicated */
        [{id: 'x', score: 1, "Given": null, params: [{'1': 'a'}]}],
        toTimeStamp(toDate(now())),
        123e4567-e89b-12d3-a456-426655440000,
        0xCAFE,
        FALSE,
        $$dollar 'quoted' text$$,
        (1, 'two')
      ) IF NOT EXISTS USING TTL 86400;
    BEGIN BATCH
      INSERT INTO ks.t (a) VALUES (NaN);
      INSERT INTO ks.t (a) VALUES (-Infinity);
    APPLY BATCH;
    INSERT INTO ks.j JSON '{"a": 1, "\\"B\\"": [true]}';
    INSERT INTO ks.t (a, b) VALUES ({}, []);
    """
    rows = _rows(text)
    assert [(line, table) for line, table, _ in rows] == [
        (5, "things"),
        (6, "t"),
        (19, "t"),  # inside BEGIN BATCH: the line of the INSERT itself
        (20, "t"),
        (22, "j"),
        (23, "t"),
    ]
    assert rows[0][2] == {"MixedCase": "it's; fine", "plain": -12, 'quo"te': 350.0}
    row = rows[1][2]
    assert row["a"] == {"k": 1, "j": -2.5}
    assert row["b"] == [1, 2, 3]
    assert row["c"] == [{"id": "x", "score": 1, "Given": None, "params": [{"1": "a"}]}]
    assert row["d"] is None
    assert row["e"] == "123e4567-e89b-12d3-a456-426655440000"
    assert row["f"] == b"\xca\xfe"
    assert row["g"] is False
    assert row["h"] == "dollar 'quoted' text"
    assert row["i"] == [1, "two"]
    assert math.isnan(rows[2][2]["a"])
    assert rows[3][2]["a"] == -math.inf
    assert rows[4][2] == {"a": 1, "B": [True]}
    assert rows[5][2] == {"a": {}, "b": []}


def test_map_with_boolean_and_number_keys_is_not_a_udt() -> None:
    ((_, _, row),) = _rows("INSERT INTO t (m, n) VALUES ({true: 'y', false: 'n'}, {1: 'one'});")
    assert row == {"m": {True: "y", False: "n"}, "n": {1: "one"}}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("\n\nINSERT INTO ks.t (a, b) VALUES (1);", 3, "2 columns but 1 values"),
        ("INSERT INTO ks.t (a) VALUES ('open);\nINSERT INTO ks.t (a) VALUES (1);", 1, "unterminated string"),
        ("-- x\nINSERT INTO ks.t (a)\n (1);", 2, "expected VALUES"),
        ("INSERT INTO ks.t (a) VALUES (1) garbage;", 1, "unexpected text after the values"),
        ("INSERT INTO ks.t (a) VALUES (?);", 1, "bind markers"),
        ("INSERT INTO ks.t (a, a) VALUES (1, 2);", 1, "column a given twice"),
        ("INSERT INTO ks.t (a) VALUES ({'k' 1});", 1, "expected '}'"),
        ("INSERT INTO ks.t (a) VALUES (1", 1, "statement ends too early"),
        ("\nINSERT INTO ks.t (a) VALUES (-true);", 2, "a sign must precede a number"),
        ("INSERT INTO ks.t (a) VALUES (0xABC);", 1, "even number of hex digits"),
        ("INSERT INTO ks.t JSON '[1]';", 1, "not an object"),
        ("/* never closed\nINSERT INTO ks.t (a) VALUES (1);", 1, "unterminated comment"),
    ],
)
def test_malformed_statement_names_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(SourceDataError) as caught:
        _rows(text)
    message = str(caught.value)
    assert f"line {line}" in message
    assert problem in message


def test_error_names_the_origin_and_the_line_of_the_bad_token() -> None:
    text = "INSERT INTO ks.t (a, b)\nVALUES (1,\n  nope);"
    with pytest.raises(SourceDataError, match=r"^data\.cql, line 1: .*near nope \(line 3\)"):
        list(parse_cql_inserts(text, origin="data.cql"))


def test_rows_before_a_malformed_statement_are_yielded() -> None:
    rows = parse_cql_inserts("INSERT INTO t (a) VALUES (1);\nINSERT INTO t (a) VALUES (;")
    assert next(rows) == (1, "t", {"a": 1})
    with pytest.raises(SourceDataError, match="line 2"):
        next(rows)


# -- property: any value written as a CQL literal reads back equal ------------------------------------

_scalars = (
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        | st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), inner, min_size=1, max_size=3
        ).map(lambda d: ("udt", d))
    ),
    max_leaves=12,
)


def _literal(value: object) -> str:
    if isinstance(value, tuple):  # a UDT
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value[1].items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"


def _expected(value: object) -> object:
    if isinstance(value, tuple):
        return {k.lower(): _expected(v) for k, v in value[1].items()}
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    return value


@given(values=st.lists(_values, min_size=1, max_size=4), newline_every=st.integers(min_value=1, max_value=3))
def test_literals_round_trip(values: list, newline_every: int) -> None:
    columns = [f"c{i}" for i in range(len(values))]
    separator = ",\n" if newline_every == 1 else ", "
    literals = separator.join(map(_literal, values))
    text = f"-- generated\nINSERT INTO ks.gen ({', '.join(columns)}) VALUES ({literals});"
    ((line, table, row),) = _rows(text)
    assert (line, table) == (2, "gen")
    assert row == {c: _expected(v) for c, v in zip(columns, values, strict=True)}
