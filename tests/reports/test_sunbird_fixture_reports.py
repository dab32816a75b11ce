"""Reports over the upstream Sunbird test fixture (report_data.cql + Redis hashes + search mock), research §8."""

from __future__ import annotations

import csv
from pathlib import Path

from exhaust.reports.build import build_report
from exhaust.sources.sunbird_fixture import load_sunbird_test_fixture

CHANNEL = "b00bc992ef25f1a9a8d63291e20efc8d"


def rows_of(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_progress_of_batch_001(sunbird_fixtures: Path, tmp_path: Path) -> None:
    source = load_sunbird_test_fixture(sunbird_fixtures, "TestProgressExhaustJob.scala")
    out = tmp_path / "progress.csv"
    result = build_report(source, "progress-exhaust", "batch-001", out)
    rows = rows_of(out)
    assert result.rows == 4
    assert [r["User UUID"] for r in rows] == ["user-001", "user-002", "user-003", "user-004"]
    assert [r["State"] for r in rows] == ["Karnataka", "Andhra Pradesh", "Karnataka", "Delhi"]
    assert [r["District"] for r in rows] == ["bengaluru", "bengaluru", "bengaluru", "babarpur"]
    assert {r["Collection Id"] for r in rows} == {"do_1130928636168192001667"}
    assert {r["Collection Name"] for r in rows} == {"24 aug course"}
    assert {r["Batch Name"] for r in rows} == {"Basic Java"}
    # enrolled_date wins over the legacy text for user-001; the legacy text is used for user-003
    assert rows[0]["Enrolment Date"] == "2019-11-16 05:41:50:000+0000"
    assert rows[2]["Enrolment Date"] == "2019-11-15 05:41:50:382+0000"
    assert rows[0]["User Name"] == "Manju Kapoor" and rows[1]["User Name"] == "Mahesh"
    # the course tree has no leaves: 0, not Sunbird's 100 (SPEC §3.1)
    assert {r["Progress"] for r in rows} == {"0"}


def test_sunbird_lern_layout_of_batch_001(sunbird_fixtures: Path, tmp_path: Path) -> None:
    source = load_sunbird_test_fixture(sunbird_fixtures, "TestProgressExhaustJob.scala")
    out = tmp_path / "lern.csv"
    build_report(source, "progress-exhaust", "batch-001", out, profile="progress-exhaust-sunbird-lern")
    user_001 = rows_of(out)[0]
    assert user_001["Batch Id"] == "BatchId_batch-001"
    assert (user_001["Org Name"], user_001["School Id"], user_001["School Name"]) == (
        "Root Org2",
        "3183211",
        "DPS, MATHURA",
    )
    assert (user_001["Block Name"], user_001["Declared Board"], user_001["Enrolment Date"]) == (
        "BLOCK1",
        "IGOT-Health",
        "16/11/2019",
    )
    assert (user_001["Cluster Name"], user_001["User Type"], user_001["User Sub Type"]) == (
        "CLUSTER1",
        "administrator",
        "deo",
    )


def test_userinfo_of_batch_006(sunbird_fixtures: Path, tmp_path: Path) -> None:
    source = load_sunbird_test_fixture(sunbird_fixtures, "TestUserInfoExhaustJob.scala")
    out = tmp_path / "userinfo.csv"
    build_report(source, "userinfo-exhaust", "batch-006", out, requested_channel=CHANNEL)
    rows = {r["User UUID"]: r for r in rows_of(out)}
    assert set(rows) == {"user-015", "user-016", "user-017"}
    for uid in ("user-015", "user-016"):
        assert rows[uid]["Consent Provided"] == "Yes", uid
    assert rows["user-015"]["Consent Provided Date"] == "2019-09-19 18:15:56:490+0000"
    assert (
        rows["user-015"]["School Id"],
        rows["user-015"]["School Name"],
        rows["user-015"]["Block Name"],
    ) == ("3183211", "DPS, MATHURA", "BLOCK1")
    revoked = rows["user-017"]
    assert revoked["Consent Provided"] == "No" and revoked["Consent Provided Date"] == ""
    contact = [
        revoked[h]
        for h in ("External ID", "School Id", "School Name", "Block Name", "Mobile Number", "Email ID")
    ]
    assert contact == [""] * 6


def test_response_of_batch_001(sunbird_fixtures: Path, tmp_path: Path) -> None:
    source = load_sunbird_test_fixture(sunbird_fixtures, "TestResponseExhaustJob.scala")
    out = tmp_path / "response.csv"
    build_report(source, "response-exhaust", "batch-001", out, requested_channel=CHANNEL)
    rows = [r for r in rows_of(out) if r["User UUID"] == "user-001"]
    assert [r["Question Id"] for r in rows] == [
        "do_213019475454476288155",
        "do_213019970118279168165",
        "do_213019972814823424168",
        "do_2130256513760624641171",
    ]
    assert [r["Question Type"] for r in rows] == ["mcq", "mcq", "mtf", "mcq"]
    assert [r["Question Score"] for r in rows] == ["1", "1", "0.33", "10"]
    assert [r["Question Duration"] for r in rows] == ["1", "1", "2", "12"]
    assert {r["Attempt Id"] for r in rows} == {"attempat-001"}
