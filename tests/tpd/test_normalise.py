"""Progress exhausts of either layout normalise to cQube's 12 diksha_tpd columns."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from exhaust.errors import SourceDataError
from exhaust.outputs.zipping import zip_report
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.open import open_source
from exhaust.tpd.normalise import TPD_COLUMNS, ZipKeyError, normalised_table, open_report_zip
from tests.tpd.data import B1, write_tpd_source

SUNBIRD = """Collection Id,Collection Name,Batch Id,Batch Name,User UUID,State,District,Org Name,School Id,School Name,Block Name,Cluster Name,User Type,User Sub Type,Declared Board,Enrolment Date,Completion Date,Certificate Status,Progress,Total Score,do_a1 - Score
do_c,Course,BatchId_0130,Batch A,u1,Goa,North,Org 1,,,,,,,,25/08/2020,27/08/2020,Issued,100,80%,80%
do_c,Course,BatchId_0130,Batch A,u2,Goa,South,Org 1,,,,,,,,03/01/2021,,,40,,
"""
SEED = """Collection Id,Collection Name,Batch Id,Batch Name,User UUID,User Name,State,District,Enrolment Date,Completion Date,Progress,Certificate Status,Total Score,do_a1 - Score
do_c,Course,0130,Batch A,u1,Asha K,Goa,North,2020-08-25 02:15:58:691+0000,2020-08-27 13:45:54:150+0000,100,Issued,80,80
do_c,Course,0130,Batch A,u2,Ravi M,Goa,South,2021-01-03 10:00:00:000+0000,,40,,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sunbird_layout_is_rewritten_as_cqube_does(tmp_path: Path) -> None:
    rows = normalised_table(write(tmp_path, "s.csv", SUNBIRD)).to_pylist()
    assert list(rows[0]) == list(TPD_COLUMNS)
    assert rows[0] == {
        "collection_id": "do_c", "collection_name": "Course", "state": "Goa", "enrolment_date": "2020-08-25",
        "batch_id": "0130", "batch_name": "Batch A", "completion_date": "2020-08-27",
        "certificate_status": "Issued", "org_name": "Org 1", "progress": "100", "total_score": "80", "uuid": "u1",
    }  # fmt: skip
    assert rows[1]["completion_date"] is None and rows[1]["total_score"] is None
    assert rows[1]["certificate_status"] is None and rows[1]["enrolment_date"] == "2021-01-03"


def test_hand_written_files_of_both_layouts_give_the_same_rows(tmp_path: Path) -> None:
    sunbird = normalised_table(write(tmp_path, "s.csv", SUNBIRD.replace("Org 1", "")))
    seed = normalised_table(write(tmp_path, "seed.csv", SEED))
    assert seed.to_pylist() == sunbird.to_pylist()
    assert seed.num_rows == 2


def test_reports_built_in_both_layouts_normalise_to_the_same_rows(tmp_path: Path) -> None:
    """The same batch built by the report engine as the seed and the Sunbird Lern layout."""
    source = open_source(f"files:{write_tpd_source(tmp_path / 'source', date(2026, 3, 15))}")
    settings = Settings(data_dir=tmp_path / "data")
    tables = {}
    for profile in ("progress-exhaust", "progress-exhaust-sunbird-lern"):
        out = tmp_path / f"{profile}.csv"
        build_report(source, "progress-exhaust", B1, out, profile=profile, settings=settings)
        tables[profile] = normalised_table(out)
    seed, sunbird = tables["progress-exhaust"], tables["progress-exhaust-sunbird-lern"]
    assert seed.to_pylist() == sunbird.to_pylist()
    by_user = {r["uuid"]: r for r in seed.to_pylist()}
    assert sorted(by_user) == ["t1", "t2", "t3", "t4", "t5"]
    assert by_user["t1"]["batch_id"] == B1 and by_user["t1"]["enrolment_date"] == "2026-03-15"
    assert [by_user[u]["progress"] for u in ("t1", "t2", "t3", "t4", "t5")] == ["100", "25", "50", "75", "0"]
    assert by_user["t1"]["certificate_status"] == "Issued" and by_user["t2"]["certificate_status"] is None


def test_a_file_without_the_key_columns_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SourceDataError, match="lacks the column"):
        normalised_table(write(tmp_path, "x.csv", "Collection Id,Progress\nc,1\n"))


def test_zips_open_with_the_right_key_only(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "0130_progress_20260315.csv", SEED)
    for encryption in ("zipcrypto", "aes256"):
        zipped = zip_report(csv_path, tmp_path / f"{encryption}.zip", password="right", encryption=encryption)
        out = tmp_path / f"out-{encryption}"
        out.mkdir()
        opened = open_report_zip(zipped, "right", out)
        assert opened.read_text(encoding="utf-8") == SEED
        with pytest.raises(ZipKeyError, match="did not open with the configured encryption key"):
            open_report_zip(zipped, "wrong", out)
        with pytest.raises(ZipKeyError, match="no encryption key is configured"):
            open_report_zip(zipped, None, out)
        assert sorted(p.name for p in out.iterdir()) == [opened.name]  # nothing half-written left
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(SourceDataError, match="is not a zip file"):
        open_report_zip(tmp_path / "junk.zip", "right", tmp_path)


def test_schema_is_all_text(tmp_path: Path) -> None:
    table = normalised_table(write(tmp_path, "s.csv", SUNBIRD))
    assert all(field.type == pa.string() for field in table.schema)
