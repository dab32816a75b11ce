"""The demo data generator: logical schemas, reproducibility, the promised shape, and consistency."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from exhaust.demo import DEMO_SALT, DemoSummary, generate_demo
from exhaust.errors import BadInput, BatchNotFound
from exhaust.pii import decrypt_array
from exhaust.settings import get_settings
from exhaust.sources.files import FileTables
from exhaust.sources.open import open_source
from exhaust.sources.schema import TABLES

LEARNERS = 2000
COLLECTION = "application/vnd.ekstep.content-collection"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, float, list[int]]:
    seen: list[int] = []
    started = time.perf_counter()
    summary = generate_demo(
        tmp_path_factory.mktemp("demo"), LEARNERS, seed=7, progress=seen.append, salt=DEMO_SALT
    )
    return summary, time.perf_counter() - started, seen


@pytest.fixture(scope="module")
def summary(demo) -> DemoSummary:
    return demo[0]


def read(summary: DemoSummary, table: str) -> pa.Table:
    return pq.read_table(summary.folder / f"{table}.parquet")


def walk(node: dict, depth: int = 0):
    yield node, depth
    for child in node.get("children", []):
        yield from walk(child, depth + 1)


def leaves_of(node: dict) -> list[str]:
    return [n["identifier"] for n, _ in walk(node) if n.get("mimeType") != COLLECTION]


def hierarchy(summary: DemoSummary, course_id: str) -> dict:
    table = read(summary, "content_hierarchy")
    row = table.filter(pc.equal(table["identifier"], course_id)).to_pylist()[0]
    return json.loads(row["hierarchy"])


def test_every_table_has_exactly_the_logical_schema(summary: DemoSummary) -> None:
    assert sorted(p.name for p in summary.folder.iterdir()) == sorted(f"{name}.parquet" for name in TABLES)
    for name, spec in TABLES.items():
        schema = pq.read_schema(summary.folder / f"{name}.parquet").remove_metadata()
        assert schema.equals(spec.schema), name
        assert read(summary, name).num_rows == summary.rows[name]


def test_two_thousand_learners_quickly_with_progress(demo) -> None:
    _, seconds, seen = demo
    assert seconds < 20
    assert seen and seen[-1] == LEARNERS and seen == sorted(seen)


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", 300, seed=11, salt="s")
    second = generate_demo(tmp_path / "b", 300, seed=11, salt="s")
    other = generate_demo(tmp_path / "c", 300, seed=12, salt="s")
    for name in TABLES:
        assert (first.folder / f"{name}.parquet").read_bytes() == (
            second.folder / f"{name}.parquet"
        ).read_bytes()
    assert (first.folder / "users.parquet").read_bytes() != (other.folder / "users.parquet").read_bytes()
    assert first.main_course_id == second.main_course_id != other.main_course_id


def test_main_batch_enrols_every_learner_and_a_few_users_are_missing(summary: DemoSummary) -> None:
    enrolments = read(summary, "user_enrolments")
    main = enrolments.filter(pc.equal(enrolments["batchid"], summary.main_batch_id))
    assert main.num_rows == LEARNERS
    assert pc.count_distinct(main["userid"]).as_py() == LEARNERS
    assert set(pc.unique(enrolments["batchid"]).to_pylist()) == set(summary.batch_ids)
    users = set(read(summary, "users")["userid"].to_pylist())
    missing = set(main["userid"].to_pylist()) - users
    assert 1 <= len(missing) <= LEARNERS // 200
    inactive = pc.sum(pc.invert(main["active"])).as_py()
    assert 0.002 * LEARNERS <= inactive <= 0.03 * LEARNERS
    batches = read(summary, "course_batch").to_pylist()
    by_id = {b["batchid"]: b for b in batches}
    assert by_id[summary.main_batch_id]["courseid"] == summary.main_course_id
    assert all(m in users for b in batches for m in b["mentors"])
    assert by_id[summary.main_batch_id]["mentors"] and by_id[summary.main_batch_id]["created_for"]


def test_hierarchy_has_the_promised_shape(summary: DemoSummary) -> None:
    root = hierarchy(summary, summary.main_course_id)
    assert root["userConsent"] == "Yes" and root["status"] == "Live" and root["channel"] == summary.channel_id
    assert root["name"]
    nodes = list(walk(root))
    nested = [
        (n, d)
        for n, d in nodes[1:]
        if n["mimeType"] == COLLECTION and n.get("trackable", {}).get("enabled") == "Yes"
    ]
    assert sorted(d for _, d in nested) == [2, 2, 3]
    assessments = [
        n
        for n, _ in nodes
        if n.get("contentType") == "SelfAssess"
        or (n.get("objectType") == "QuestionSet" and n.get("primaryCategory") == "Practice Question Set")
    ]
    assert len(assessments) == 8
    assert any(n.get("objectType") == "QuestionSet" for n in assessments)
    assert 38 <= len(leaves_of(root)) <= 42
    for node, _ in nodes:
        assert node["status"] == "Live" and node["channel"] and node["name"]
        if node["mimeType"] == COLLECTION:
            assert node["leafNodes"] == leaves_of(node)
            assert node["leafNodesCount"] == len(leaves_of(node))
    assert all(n["mimeType"] != COLLECTION for n in assessments)


def test_extra_courses_exist_and_one_does_not_ask_for_consent(summary: DemoSummary) -> None:
    batches = read(summary, "course_batch").to_pylist()
    consents = {b["courseid"]: hierarchy(summary, b["courseid"]).get("userConsent") for b in batches}
    assert len(consents) == 3 and "No" in consents.values()
    assert any(b["end_date"] is None for b in batches)


def test_emails_and_phones_are_encrypted_with_the_salt(summary: DemoSummary) -> None:
    assert summary.salt == DEMO_SALT
    users = read(summary, "users")
    email, phone = users["email"].combine_chunks(), users["phone"].combine_chunks()
    assert pc.sum(pc.match_substring(email, "@")).as_py() in (0, None)
    clear_email = decrypt_array(email, summary.salt).drop_null()
    clear_phone = decrypt_array(phone, summary.salt).drop_null()
    assert len(clear_email) > 0.7 * users.num_rows
    assert all(re.fullmatch(r"[a-z.]+\d\d@[a-z.]+", e) for e in clear_email.to_pylist())
    assert all(re.fullmatch(r"[6-9]\d{9}", p) for p in clear_phone.to_pylist())
    wrong = decrypt_array(email.drop_null(), "another salt")
    assert not any("@" in (e or "") for e in wrong.to_pylist())


def test_salt_comes_from_the_setting_when_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXHAUST_SUNBIRD_ENCRYPTION_KEY", "tenant-salt")
    get_settings.cache_clear()
    try:
        configured = generate_demo(tmp_path / "a", 50)
        monkeypatch.setenv("EXHAUST_SUNBIRD_ENCRYPTION_KEY", "")
        get_settings.cache_clear()
        default = generate_demo(tmp_path / "b", 50)
    finally:
        get_settings.cache_clear()
    assert configured.salt == "tenant-salt" and default.salt == DEMO_SALT
    assert "tenant-salt" not in repr(configured)
    emails = read(configured, "users")["email"].combine_chunks().drop_null()
    assert all("@" in e for e in decrypt_array(emails, "tenant-salt").to_pylist())


def test_every_attempt_belongs_to_an_enrolment_of_its_batch(summary: DemoSummary) -> None:
    attempts = read(summary, "assessment_aggregator")
    enrolments = read(summary, "user_enrolments")
    keys = set(zip(*(enrolments[c].to_pylist() for c in ("userid", "courseid", "batchid")), strict=True))
    attempt_keys = zip(*(attempts[c].to_pylist() for c in ("user_id", "course_id", "batch_id")), strict=True)
    assert all(k in keys for k in attempt_keys)
    root = hierarchy(summary, summary.main_course_id)
    assessment_ids = {n["identifier"] for n, _ in walk(root) if "maxScore" in n}
    main = attempts.filter(pc.equal(attempts["batch_id"], summary.main_batch_id))
    assert set(main["content_id"].to_pylist()) == assessment_ids
    per_pair = main.num_rows / (LEARNERS * len(assessment_ids))
    assert 1.6 <= per_pair <= 2.4
    assert pc.count_distinct(attempts["attempt_id"]).as_py() == attempts.num_rows


def test_attempt_scores_add_up_and_questions_look_like_sunbirds(summary: DemoSummary) -> None:
    attempts = read(summary, "assessment_aggregator").slice(0, 500).to_pylist()
    for attempt in attempts:
        questions = attempt["question"]
        assert 3 <= len(questions) <= 5
        assert attempt["total_score"] == pytest.approx(sum(q["score"] for q in questions))
        assert attempt["total_max_score"] == pytest.approx(sum(q["max_score"] for q in questions))
        score, _, top = attempt["grand_total"].partition("/")
        assert float(score) == attempt["total_score"] and float(top) == attempt["total_max_score"]
        assert re.fullmatch(r"\d+\.\d+/\d+\.\d+", attempt["grand_total"])
        for q in questions:
            assert all(len(m) == 1 for m in q["params"]) and len(q["resvalues"]) == 1
            assert all(isinstance(json.loads(v), dict) for m in q["params"] + q["resvalues"] for _, v in m)
            assert q["assess_ts"] <= attempt["last_attempted_on"]
    assert any(a["total_score"] % 1 for a in attempts)  # half marks occur


def test_progress_agrees_with_content_status_and_activity(summary: DemoSummary) -> None:
    root = hierarchy(summary, summary.main_course_id)
    leaves = len(leaves_of(root))
    enrolments = read(summary, "user_enrolments")
    main = enrolments.filter(pc.equal(enrolments["batchid"], summary.main_batch_id)).to_pylist()
    activity = read(summary, "user_activity_agg")
    course_rows = activity.filter(pc.equal(activity["activity_id"], summary.main_course_id)).to_pylist()
    counts = {r["user_id"]: dict(r["aggregates"])["completedCount"] for r in course_rows}
    assert {r["context_id"] for r in course_rows} == {f"cb:{summary.main_batch_id}"}
    fallback = 0
    for row in main:
        statuses = dict(row["contentstatus"] or [])
        assert set(statuses.values()) <= {0, 1, 2}
        if row["contentstatus"] is not None:
            assert row["progress"] == sum(v == 2 for v in statuses.values())
        elif row["status"] > 0:
            fallback += 1
        assert (row["status"] == 2) == (row["progress"] == leaves)
        if row["completedon"] is not None:
            assert row["status"] == 2
        if row["status"] > 0:
            assert counts[row["userid"]] == row["progress"]
    assert fallback > 0
    stages = [r["status"] for r in main]
    assert all(stages.count(s) > 0.05 * LEARNERS for s in (0, 1, 2))
    nested_ids = {n["identifier"] for n, d in walk(root) if d > 0 and n.get("trackable")}
    assert nested_ids <= set(activity["activity_id"].to_pylist())


def test_dates_certificates_and_consents_vary_like_real_data(summary: DemoSummary) -> None:
    enrolments = read(summary, "user_enrolments")
    rows = enrolments.filter(pc.equal(enrolments["batchid"], summary.main_batch_id)).to_pylist()
    legacy_only = [r for r in rows if r["enrolled_date"] is None]
    assert 0.03 * LEARNERS < len(legacy_only) < 0.2 * LEARNERS
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}\+0000", r["enrolleddate"]) for r in legacy_only
    )
    assert sum(r["enrolled_date"] is not None for r in rows) > 0.8 * LEARNERS
    completed = [r for r in rows if r["status"] == 2]
    assert sum(r["completedon"] is not None for r in completed) > 0.9 * len(completed) > 0
    assert any(r["issued_certificates"] for r in completed)
    assert any(r["certificates"] for r in completed)
    assert any(r["certstatus"] == 3 and not r["issued_certificates"] for r in completed)
    assert all(not r["issued_certificates"] for r in rows if r["status"] != 2)

    consents = read(summary, "user_consent")
    mine = consents.filter(pc.equal(consents["consumer_id"], summary.channel_id))
    mine = mine.filter(pc.equal(mine["object_id"], summary.main_course_id))
    assert 0.6 * LEARNERS < mine.num_rows < 0.8 * LEARNERS
    statuses = mine["status"].to_pylist()
    assert set(statuses) == {"ACTIVE", "REVOKED"}
    assert statuses.count("REVOKED") < statuses.count("ACTIVE")
    assert consents.num_rows > mine.num_rows  # other consumers and other courses too


def test_dirty_values_are_present(summary: DemoSummary) -> None:
    users = read(summary, "users").to_pylist()
    assert any((u["firstname"] or "").startswith("=") for u in users)
    assert any((u["lastname"] or "").startswith("-") for u in users)
    assert any(not (u["firstname"] or "").isascii() for u in users)
    assert any(u["lastname"] == "" for u in users) and any(u["lastname"] is None for u in users)
    schools = [u["schoolname"] for u in users if u["schoolname"]]
    assert (
        any("," in s for s in schools) and any('"' in s for s in schools) and any("'" in s for s in schools)
    )
    boards = [u["board"] for u in users if u["board"]]
    assert any(b.startswith('["') and json.loads(b) for b in boards)
    assert any(not b.startswith("[") for b in boards)
    assert all(re.fullmatch(r"\d{11}", u["schooludisecode"]) for u in users if u["schooludisecode"])
    assert {u["usersignintype"] for u in users} == {"Validated", "Self-Signed-In"}
    assert len({u["state"] for u in users}) >= 4


def test_the_folder_reads_back_through_the_files_source(summary: DemoSummary) -> None:
    source = open_source(str(summary.folder))
    batch = source.batch(summary.main_batch_id)
    assert batch["courseid"] == summary.main_course_id
    enrolments = source.enrolments(summary.main_batch_id)
    assert enrolments.num_rows == LEARNERS
    users = source.users(enrolments["userid"].to_pylist())
    assert LEARNERS - 5 <= users.num_rows < LEARNERS
    assert source.hierarchy(summary.main_course_id)["identifier"] == summary.main_course_id
    assert source.attempts(summary.main_course_id, summary.main_batch_id).num_rows > LEARNERS
    assert source.activity(summary.main_batch_id).num_rows > LEARNERS // 2
    assert source.consents(summary.main_course_id, summary.channel_id).num_rows > LEARNERS // 2
    assert source.setting("custodianOrgId")
    assert FileTables(summary.folder).read("course_batch", {}).num_rows == 3
    with pytest.raises(BatchNotFound):
        source.batch("no-such-batch")


def test_zero_learners_gives_valid_empty_tables(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path, 0, salt="s")
    source = open_source(f"files:{tmp_path}")
    assert source.batch(summary.main_batch_id)["batchid"] == summary.main_batch_id
    assert source.enrolments(summary.main_batch_id).num_rows == 0
    assert summary.rows["users"] == 3  # the mentors
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(BadInput):
        generate_demo(tmp_path, -1)
