"""The upstream Sunbird test fixtures as one Source: what the upstream suites see, table by table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exhaust.errors import BadInput, HierarchyNotFound, SourceDataError
from exhaust.sources.base import Source
from exhaust.sources.sunbird_fixture import (
    SUITES,
    StaticSearch,
    load_sunbird_fixture,
    load_sunbird_test_fixture,
    search_result_items,
)

COURSE = "do_1130928636168192001667"
EXHAUST = "lern-data-products/src/test/resources/exhaust"


@pytest.fixture(scope="module")
def progress_source(sunbird_fixtures: Path) -> Source:
    return load_sunbird_test_fixture(sunbird_fixtures)


def test_batch_001(progress_source: Source) -> None:
    batch = progress_source.batch("batch-001")
    assert batch["courseid"] == COURSE
    assert batch["name"] == "Basic Java"
    assert batch["status"] == 1
    assert batch["start_date"] == "2020-01-20"
    assert batch["end_date"] == "2020-01-10"


def test_start_date_prefers_the_new_column(progress_source: Source) -> None:
    # batch-004 has startdate 2020-02-20 (old text column) and start_date 2020-10-20 (new column).
    assert progress_source.batch("batch-004")["start_date"] == "2020-10-20"


def test_enrolments_of_batch_001(progress_source: Source) -> None:
    rows = {r["userid"]: r for r in progress_source.enrolments("batch-001").to_pylist()}
    assert sorted(rows) == ["user-001", "user-002", "user-003", "user-004"]
    assert {r["courseid"] for r in rows.values()} == {COURSE}
    assert rows["user-001"]["enrolleddate"] == "2019-11-13 05:41:50:382+0000"  # legacy text kept as text
    assert rows["user-001"]["enrolled_date"] == datetime(2019, 11, 16, 5, 41, 50, tzinfo=UTC)
    assert rows["user-002"]["enrolleddate"] is None
    assert rows["user-003"]["enrolled_date"] is None
    assert all(r["active"] for r in rows.values())


def test_inserts_with_the_same_key_are_one_row(progress_source: Source) -> None:
    # report_data.cql inserts user-011's enrolment and user-003's attempt twice, as Cassandra upserts.
    assert progress_source.enrolments("batch-002").column("userid").to_pylist().count("user-011") == 1
    attempts = progress_source.attempts(COURSE, "batch-001").to_pylist()
    assert sorted(a["user_id"] for a in attempts) == ["user-001", "user-002", "user-003"]


def test_users_come_from_the_redis_hashes(progress_source: Source) -> None:
    users = {
        u["userid"]: u
        for u in progress_source.users(["user-001", "user-002", "user-003", "user-004"]).to_pylist()
    }
    assert users["user-001"]["state"] == "Karnataka"
    assert users["user-002"]["state"] == "Andhra Pradesh"
    assert users["user-004"]["district"] == "babarpur"
    assert users["user-003"]["cluster"] == "anagha"
    # The hash of user:user-001 says userid a962a4ff-...; the key wins.
    assert users["user-001"]["userid"] == "user-001"
    assert progress_source.users(["a962a4ff-b5b5-46ad-a9fa-f54edf1bcccb"]).num_rows == 0
    assert users["user-001"]["board"] == "IGOT-Health"  # the first element of ["IGOT-Health"]
    assert users["user-001"]["email"] == ""  # an empty hash value stays empty, not null
    assert users["user-001"]["schoolname"] == "DPS, MATHURA"


def test_hierarchy_root_gets_the_search_metadata(progress_source: Source) -> None:
    tree = progress_source.hierarchy(COURSE)
    assert tree["name"] == "24 aug course"
    assert tree["userConsent"] == "Yes"
    assert tree["status"] == "Live"
    assert tree["channel"] == "b00bc992ef25f1a9a8d63291e20efc8d"
    assert tree["children"][0]["contentType"] == "TextBookUnit"  # the stored tree is kept
    # Only the fields upstream asks search for: the mock items' PDF mimeType is not copied.
    assert "mimeType" not in tree


def test_custodian_org_setting(progress_source: Source) -> None:
    assert progress_source.setting("custodianOrgId") == "0130107621805015045"


def test_a_searched_collection_without_a_stored_hierarchy(progress_source: Source) -> None:
    # batch-003's collection is searchable but has no content_hierarchy row: upstream fails that batch.
    course = progress_source.batch("batch-003")["courseid"]
    with pytest.raises(HierarchyNotFound):
        progress_source.hierarchy(course)
    (found,) = progress_source.search_collections({"identifier": [course]})
    assert (found["name"], found["userConsent"], found["channel"]) == ("24 aug course", "Yes", "channel-01")


def test_search_answers_the_batch_checks(progress_source: Source) -> None:
    retired = progress_source.batch("batch-005")["courseid"]
    found = progress_source.search_collections(
        {"identifier": [retired, "do_1130293726460805121168"], "status": ["Live", "Unlisted", "Retired"]}
    )
    by_id = {f["identifier"]: f for f in found}
    assert by_id[retired]["status"] == "Retired"
    assert by_id["do_1130293726460805121168"].get("userConsent") is None
    assert progress_source.search_collections({"identifier": retired, "status": "Live"}) == []
    # The mock lists do_1128870328040161281204 twice; search returns what the service returned.
    assert len(progress_source.search_collections({"identifier": ["do_1128870328040161281204"]})) == 2


def test_activity_and_attempt_values(progress_source: Source) -> None:
    activity = {r["user_id"]: r for r in progress_source.activity("batch-001").to_pylist()}
    assert activity["user-001"]["aggregates"] == [("completedCount", 1.0)]  # CQL column `agg`
    (attempt,) = [
        a for a in progress_source.attempts(COURSE, "batch-001").to_pylist() if a["user_id"] == "user-001"
    ]
    assert attempt["last_attempted_on"] == datetime(2021, 7, 15, 5, 30, tzinfo=UTC)
    assert attempt["total_score"] == 20.0
    assert attempt["grand_total"] == "20"
    questions = attempt["question"]
    assert [q["score"] for q in questions] == [1.0, 1.0, 0.33, 10.0]
    assert questions[0]["assess_ts"] == datetime(2020, 6, 18, 18, 15, 56, 490000, tzinfo=UTC)
    assert questions[3]["params"][4] == [("answer", '{"correct":["1"]}')]


def test_consents(progress_source: Source) -> None:
    consents = progress_source.consents(COURSE, "b00bc992ef25f1a9a8d63291e20efc8d").to_pylist()
    statuses = {c["user_id"]: c["status"] for c in consents}
    assert statuses == {
        "user-001": "active",
        "user-002": "active",
        "user-003": "active",
        "user-004": "active",
        "user-015": "active",
        "user-016": "active",
        "user-017": "REVOKED",
    }
    dated = {c["user_id"]: c["last_updated_on"] for c in consents}
    assert dated["user-001"] == datetime(2019, 9, 19, 18, 15, 56, 490000, tzinfo=UTC)
    assert dated["user-002"] is None


def test_every_suite_loads(sunbird_fixtures: Path) -> None:
    for suite in SUITES:
        source = load_sunbird_test_fixture(sunbird_fixtures, suite)
        assert source.batch("batch-001")["courseid"] == COURSE
        assert source.enrolments("batch-001").num_rows == 4
    userinfo = load_sunbird_test_fixture(sunbird_fixtures, "TestUserInfoExhaustJob.scala")
    assert userinfo.users(["user-002"]).column("orgname").to_pylist() == ["Pre-prod Custodian Organization"]
    assert userinfo.users(["user-017"]).num_rows == 1


def test_progress_v2_suite_reads_aggregates(sunbird_fixtures: Path) -> None:
    source = load_sunbird_test_fixture(sunbird_fixtures, "TestProgressExhaustJobV2.scala")
    activity = {r["user_id"]: dict(r["aggregates"]) for r in source.activity("batch-001").to_pylist()}
    assert activity["user-001"] == {
        "completedCount": 1.0,
        "score:do_1128870328040161281204": 20.0,
        "max_score:do_1128870328040161281204": 20.0,
    }
    assert source.hierarchy(COURSE)["name"] == "24 aug course"


def test_unknown_suite(sunbird_fixtures: Path) -> None:
    with pytest.raises(BadInput, match=r"TestProgressExhaustJob\.scala"):
        load_sunbird_test_fixture(sunbird_fixtures, "TestNothing.scala")


def test_release_7_users_table(sunbird_fixtures: Path) -> None:
    source = load_sunbird_fixture([sunbird_fixtures / "release-7.0.0" / EXHAUST / "report_data.cql"])
    (user,) = source.users(["56c2d9a3-fae9-4341-9862-4eeeead2e9a1"]).to_pylist()
    assert (user["firstname"], user["usertype"], user["rootorgid"]) == (
        "localuser118f",
        "teacher",
        "012500530695766016224",
    )
    # CQL keeps `\n` as the two characters backslash and n.
    assert user["email"].startswith("PEhQxQlaMdJEXOzShY0NAiKg") and "\\n" in user["email"]
    # Without search items the stored hierarchies are searched instead.
    assert [c["identifier"] for c in source.search_collections({"identifier": [COURSE]})] == [COURSE]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_upsert_merges_columns_and_redis_overrides_cql(tmp_path: Path) -> None:
    first = _write(
        tmp_path,
        "a.cql",
        "INSERT INTO ks.course_batch (courseid, batchid, name, startdate)\n"
        "  VALUES ('c1', 'b1', 'Old', '2020-01-01');\n"
        "INSERT INTO ks.user (id, userid, firstname, state) VALUES ('u1', 'u1', 'Cql', 'Goa');\n"
        "INSERT INTO ks.user (id, firstname) VALUES ('u2', 'OnlyCql');\n"
        "INSERT INTO ks.content_hierarchy (identifier, hierarchy)\n"
        "  VALUES ('c1', '{\"name\": \"Own name\"}');\n",
    )
    second = _write(
        tmp_path,
        "b.cql",
        "INSERT INTO ks.course_batch (courseid, batchid, status) VALUES ('c1', 'b1', 2);\n",
    )
    hashes = [{"key": "user:u1", "hash": {"userid": "other", "firstname": "Redis", "board": "\\[x\\]"}}]
    search = [{"identifier": "c1", "name": "Search name", "status": "Live", "mimeType": "application/pdf"}]
    source = load_sunbird_fixture([first, second], hashes, search)
    batch = source.batch("b1")
    assert (batch["name"], batch["status"], batch["start_date"]) == ("Old", 2, "2020-01-01")
    users = {u["userid"]: u for u in source.users(["u1", "u2", "other"]).to_pylist()}
    assert sorted(users) == ["u1", "u2"]
    assert users["u1"]["firstname"] == "Redis"
    assert users["u1"]["state"] is None  # the Redis hash replaces the CQL row whole
    assert users["u1"]["board"] == "[x]"  # escaped brackets read as the Redis store reads them
    assert users["u2"]["firstname"] == "OnlyCql"
    tree = source.hierarchy("c1")
    assert tree == {"name": "Own name", "status": "Live", "identifier": "c1"}


def test_bad_values_name_the_file_line_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "bad.cql",
        "INSERT INTO ks.course_batch (courseid, batchid) VALUES ('c1', 'b1');\n\n"
        "INSERT INTO ks.course_batch (courseid, batchid, status) VALUES ('c1', 'b2', 'one');\n",
    )
    with pytest.raises(SourceDataError, match=r"^bad\.cql, line 3, column status: cannot read 'one'"):
        load_sunbird_fixture([path])


def test_malformed_cql_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "broken.cql", "\nINSERT INTO ks.course_batch (courseid, batchid) VALUES ('c1');\n"
    )
    with pytest.raises(SourceDataError, match=r"^broken\.cql, line 2: malformed INSERT"):
        load_sunbird_fixture([path])


def test_missing_key_and_bad_redis_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "nokey.cql", "INSERT INTO ks.user_consent (user_id, status) VALUES ('u', 'active');\n"
    )
    with pytest.raises(SourceDataError, match=r"nokey\.cql, line 1: .*key column consumer_id"):
        load_sunbird_fixture([path])
    with pytest.raises(SourceDataError, match="not of the form user:<id>"):
        load_sunbird_fixture([], [{"key": "profile:u1", "hash": {}}])


def test_static_search_and_result_items(sunbird_fixtures: Path) -> None:
    mock = (
        sunbird_fixtures / "extracted-from-test-code/mock-http-responses/content-search.BaseReportSpec.json"
    )
    items = search_result_items(json.loads(mock.read_text(encoding="utf-8")))
    assert len(items) == 13
    search = StaticSearch(items)
    assert {i["identifier"] for i in search.search({"channel": "channel-01", "userConsent": "Yes"})} == {
        "do_1131975645014835201326",
        "do_11306040245271756813015",
    }
    assert search_result_items(
        {"result": {"count": 2, "content": [{"identifier": "a"}], "QuestionSet": [{"identifier": "q"}]}}
    ) == [
        {"identifier": "a"},
        {"identifier": "q"},
    ]
