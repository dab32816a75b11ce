"""User info exhaust (SPEC §3.2) and the course mentor report (§3.4): consent, decryption, layout."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from exhaust.errors import BadInput
from exhaust.pii import encrypt
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.open import open_source
from tests.builders import batch, course, enrolment, hierarchy_row, leaf, write_source

C, B, CHANNEL, SALT = "do_course", "batch-1", "org-a", "test-salt"


def user(uid: str, **extra) -> dict:
    return {
        "userid": uid,
        "firstname": uid.upper(),
        "lastname": "Rao",
        "state": "Karnataka",
        "district": "Mysuru",
        "orgname": "Karnataka Org",
        "externalid": f"ext-{uid}",
        "schooludisecode": f"29{uid}",
        "schoolname": "GHS, Hunsur",
        "block": "Hunsur",
        "board": '["CBSE"]',
        "declaredorg": "KVS",
        "email": encrypt(f"{uid}@mail.in", SALT),
        "phone": encrypt("9876543210", SALT),
        **extra,
    }


def consent(
    uid: str, status: str, consumer: str = CHANNEL, updated: str = "2021-06-14T18:15:56.490Z"
) -> dict:
    return {
        "user_id": uid,
        "consumer_id": consumer,
        "object_id": C,
        "object_type": "Collection",
        "status": status,
        "last_updated_on": updated,
    }


def build(
    tmp_path: Path, dataset: str, *, user_consent: str = "Yes", channel: str | None = CHANNEL
) -> list[dict]:
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        content_hierarchy=[
            hierarchy_row(course(C, [leaf("l1"), leaf("l2")], userConsent=user_consent, channel=CHANNEL))
        ],
        user_enrolments=[
            enrolment("active", C, B, contentstatus={"l1": 2}, enrolled_date="2021-01-02T03:04:05Z"),
            enrolment("revoked", C, B),
            enrolment("none", C, B),
            enrolment("elsewhere", C, B),
            enrolment("plain", C, B, completedon="2021-03-01T00:00:00Z"),
            enrolment("ghost", C, B),
        ],
        users=[
            user("active"),
            user("revoked"),
            user("none"),
            user("elsewhere"),
            user("plain", email="plain@mail.in", phone="12345", board="State Board"),
        ],
        user_consent=[
            consent("active", "ACTIVE"),
            consent("revoked", "REVOKED"),
            consent("elsewhere", "ACTIVE", "org-b"),
            consent("plain", "active", updated="2022-02-02T00:00:00Z"),
        ],
    )
    out = tmp_path / f"{dataset}.csv"
    settings = Settings(sunbird_encryption_key=SALT)
    build_report(open_source(str(folder)), dataset, B, out, requested_channel=channel, settings=settings)
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


USERINFO_HEADERS = [
    "Collection Id",
    "Collection Name",
    "Batch Id",
    "Batch Name",
    "User UUID",
    "User Name",
    "State",
    "District",
    "Org Name",
    "External ID",
    "School Id",
    "School Name",
    "Block Name",
    "Declared Board",
    "Declared Org",
    "Mobile Number",
    "Email ID",
    "Consent Provided",
    "Consent Provided Date",
]


def test_userinfo_consent_matrix(tmp_path: Path) -> None:
    rows = {r["User UUID"]: r for r in build(tmp_path, "userinfo-exhaust")}
    assert list(next(iter(rows.values()))) == USERINFO_HEADERS
    assert set(rows) == {
        "active",
        "revoked",
        "none",
        "elsewhere",
        "plain",
        "ghost",
    }  # every enrolled user keeps a row
    active = rows["active"]
    assert (active["Consent Provided"], active["Consent Provided Date"]) == (
        "Yes",
        "2021-06-14 18:15:56:490+0000",
    )
    assert (active["Email ID"], active["Mobile Number"]) == ("active@mail.in", "9876543210")  # decrypted
    assert (active["External ID"], active["School Id"], active["School Name"], active["Block Name"]) == (
        "ext-active",
        "29active",
        "GHS, Hunsur",
        "Hunsur",
    )
    assert active["Declared Board"] == "CBSE" and active["Declared Org"] == "KVS"
    for uid in (
        "revoked",
        "none",
        "elsewhere",
        "ghost",
    ):  # revoked, no row, another channel's consent, unknown user
        row = rows[uid]
        assert (row["Consent Provided"], row["Consent Provided Date"]) == ("No", ""), uid
        blanked = [
            row[h]
            for h in ("External ID", "School Id", "School Name", "Block Name", "Mobile Number", "Email ID")
        ]
        assert blanked == [""] * 6, uid
    assert (
        rows["none"]["User Name"] == "NONE Rao" and rows["none"]["State"] == "Karnataka"
    )  # not consent fields
    assert rows["plain"]["Email ID"] == "plain@mail.in"  # a value that is not encrypted passes through
    assert rows["plain"]["Declared Board"] == "State Board"


def test_userinfo_refused_without_user_consent_on_the_collection(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        build(tmp_path, "userinfo-exhaust", user_consent="No")
    assert str(caught.value) == (
        "User info exhaust is not applicable for collections which don't request for user consent to share data"
    )


def test_userinfo_defaults_to_the_collections_channel(tmp_path: Path) -> None:
    rows = {r["User UUID"]: r for r in build(tmp_path, "userinfo-exhaust", channel=None)}
    assert rows["active"]["Consent Provided"] == "Yes" and rows["elsewhere"]["Consent Provided"] == "No"


def test_course_mentor_order_blanks_and_consent(tmp_path: Path) -> None:
    rows = build(tmp_path, "course-mentor")
    assert list(rows[0]) == [
        "External ID",
        "User ID",
        "User Name",
        "Email ID",
        "Mobile Number",
        "Organization Name",
        "District Name",
        "School Name",
        "Block Name",
        "Enrollment Date",
        "Course Progress",
        "Completion Date",
    ]
    by_id = {r["User ID"]: r for r in rows}
    assert all(r["User ID"] for r in rows)  # never blank
    active = by_id["active"]
    assert (active["External ID"], active["Email ID"], active["Mobile Number"]) == (
        "ext-active",
        "active@mail.in",
        "9876543210",
    )
    assert (active["Course Progress"], active["Enrollment Date"], active["Completion Date"]) == (
        "50",
        "2021-01-02 03:04:05:000+0000",
        "",
    )
    revoked = by_id["revoked"]
    assert (revoked["External ID"], revoked["Email ID"], revoked["Mobile Number"]) == ("", "", "")
    assert revoked["School Name"] == "GHS, Hunsur" and revoked["Organization Name"] == "Karnataka Org"
    ghost = by_id["ghost"]
    assert [ghost[h] for h in ("External ID", "User Name", "Organization Name", "District Name")] == [
        "",
        "",
        "",
        "",
    ]
    assert (
        by_id["plain"]["Course Progress"] == "100"
        and by_id["plain"]["Completion Date"] == "2021-03-01 00:00:00:000+0000"
    )
