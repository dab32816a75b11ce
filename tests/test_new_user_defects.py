"""Defects found by trying exhaust as a new user would (issue 13, part 6): one test each.

Each test is what a new user did and what they must see now: a clear one-sentence error instead of a
silently wrong file, or the behaviour the documentation promised.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exhaust.errors import BadInput, EncryptedValues, SourceDataError
from exhaust.pii import encrypt
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.open import open_source
from tests.builders import batch, course, enrolment, hierarchy_row, leaf, write_source

C, B, CHANNEL, SALT = "do_course", "batch-1", "org-a", "SunBird"


def consenting_source(folder: Path, *, email: str, phone: str) -> Path:
    return write_source(
        folder,
        course_batch=[batch(B, C)],
        content_hierarchy=[hierarchy_row(course(C, [leaf("l1")], channel=CHANNEL))],
        user_enrolments=[enrolment("u1", C, B)],
        users=[{"userid": "u1", "firstname": "Asha", "email": email, "phone": phone}],
        user_consent=[
            {"user_id": "u1", "consumer_id": CHANNEL, "object_id": C, "status": "ACTIVE",
             "last_updated_on": "2021-06-14T00:00:00Z"}
        ],
    )  # fmt: skip


@pytest.mark.parametrize("dataset", ["userinfo-exhaust", "course-mentor"])
@pytest.mark.parametrize(("salt", "reason"), [("", "is not set"), ("wrong-salt", "does not decrypt them")])
def test_ciphertext_never_reaches_a_report(tmp_path: Path, dataset: str, salt: str, reason: str) -> None:
    folder = consenting_source(
        tmp_path / "src", email=encrypt("asha@school.in", SALT), phone=encrypt("9876543210", SALT)
    )
    out = tmp_path / "out.csv"
    with pytest.raises(EncryptedValues) as caught:
        build_report(
            open_source(str(folder)), dataset, B, out,
            requested_channel=CHANNEL, settings=Settings(sunbird_encryption_key=salt),
        )  # fmt: skip
    header, _, rest = str(caught.value).partition(" holds Sunbird-encrypted values")
    assert header in ("Email ID", "Mobile Number") and rest  # the first such column of the layout
    assert reason in str(caught.value) and "EXHAUST_SUNBIRD_ENCRYPTION_KEY" in str(caught.value)
    assert not out.exists()
    # With the platform's salt the same data decrypts.
    build_report(
        open_source(str(folder)), dataset, B, out,
        requested_channel=CHANNEL, settings=Settings(sunbird_encryption_key=SALT),
    )  # fmt: skip
    text = out.read_text(encoding="utf-8")
    assert "asha@school.in" in text and "9876543210" in text


def test_plain_contact_details_pass_without_a_salt(tmp_path: Path) -> None:
    folder = consenting_source(tmp_path / "src", email="asha@school.in", phone="9876543210")
    out = tmp_path / "out.csv"
    build_report(
        open_source(str(folder)), "userinfo-exhaust", B, out,
        requested_channel=CHANNEL, settings=Settings(sunbird_encryption_key=""),
    )  # fmt: skip
    assert "asha@school.in" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("table", "rows", "column"),
    [
        ("user_enrolments", [{"userid": "u1", "courseid": C, "batch_id": B, "active": True}], "batchid"),
        ("users", [{"user_id": "u1", "firstname": "Asha"}], "userid"),
        ("course_batch", [{"batchid": B, "course_id": C}], "courseid"),
    ],
)
def test_a_misnamed_key_column_is_an_error_naming_table_and_column(
    tmp_path: Path, table: str, rows: list[dict], column: str
) -> None:
    tables = {
        "course_batch": [batch(B, C)],
        "content_hierarchy": [hierarchy_row(course(C, [leaf("l1")]))],
        "user_enrolments": [enrolment("u1", C, B)],
        "users": [{"userid": "u1", "firstname": "Asha"}],
    }
    tables[table] = rows
    folder = write_source(tmp_path / "src", **tables)
    with pytest.raises(SourceDataError) as caught:
        build_report(open_source(str(folder)), "progress-exhaust", B, tmp_path / "out.csv")
    assert str(caught.value) == f"{table}.jsonl: table {table} has no column {column}"


def test_a_csv_table_without_a_required_column_is_an_error(tmp_path: Path) -> None:
    folder = write_source(tmp_path / "src", course_batch=[batch(B, C)])
    (folder / "user_enrolments.jsonl").unlink()
    (folder / "user_enrolments.csv").write_text("user_id,batchid,active\nu1,batch-1,true\n", encoding="utf-8")
    with pytest.raises(
        SourceDataError, match=r"^user_enrolments\.csv: table user_enrolments has no column userid$"
    ):
        open_source(str(folder)).enrolments(B)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "exhaust", *args], capture_output=True, text=True, timeout=120
    )


def test_a_zip_output_without_a_password_is_refused(tmp_path: Path) -> None:
    folder = consenting_source(tmp_path / "src", email="a@b.in", phone="1")
    out = tmp_path / "p.zip"
    done = cli("report", "progress-exhaust", "--source", str(folder), "--batch", B, "--output", str(out))
    assert done.returncode == 1
    assert (
        done.stderr.strip() == "p.zip names a zip: give --password for a protected zip, or name it FILE.csv"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("children", "shape"),
    [
        ({"identifier": "l1"}, "is not a list"),
        ([leaf("l1"), "l2"], "holds a value that is not a node object"),
    ],
)
def test_a_hierarchy_whose_children_are_not_a_list_of_nodes_is_an_error(
    tmp_path: Path, children: object, shape: str
) -> None:
    tree = course(C, [leaf("l0")])
    tree["children"] = [{"identifier": "unit-1", "mimeType": "application/vnd.ekstep.content-collection",
                         "children": children}]  # fmt: skip
    folder = write_source(
        tmp_path / "src",
        course_batch=[batch(B, C)],
        content_hierarchy=[hierarchy_row(tree)],
        user_enrolments=[enrolment("u1", C, B)],
    )
    with pytest.raises(SourceDataError) as caught:
        build_report(open_source(str(folder)), "progress-exhaust", B, tmp_path / "out.csv")
    assert str(caught.value) == f"content hierarchy node unit-1: children {shape}"


def test_two_files_for_one_table_is_an_error(tmp_path: Path) -> None:
    folder = write_source(tmp_path / "src", course_batch=[batch(B, C)])
    (folder / "course_batch.csv").write_text("batchid,courseid\nother,do_other\n", encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        open_source(str(folder))
    assert str(caught.value) == (
        f"source folder {folder} has 2 files for table course_batch (course_batch.jsonl, course_batch.csv): "
        "keep one"
    )


def test_demo_data_reports_with_the_salt_its_docs_name(tmp_path: Path) -> None:
    """docs/demo-data.md: made without EXHAUST_SUNBIRD_ENCRYPTION_KEY, the demo is encrypted with `SunBird`."""
    from exhaust.demo import DEMO_SALT, generate_demo

    assert DEMO_SALT == "SunBird" and "`SunBird`" in Path("docs/demo-data.md").read_text(encoding="utf-8")
    summary = generate_demo(tmp_path / "demo", 60, 7, salt=None)
    source, out = open_source(f"files:{summary.folder}"), tmp_path / "mentor.csv"
    with pytest.raises(EncryptedValues):
        build_report(source, "course-mentor", summary.main_batch_id, out, settings=Settings())
    build_report(
        source,
        "course-mentor",
        summary.main_batch_id,
        out,
        settings=Settings(sunbird_encryption_key=DEMO_SALT),
    )
    assert "@" in out.read_text(encoding="utf-8")
