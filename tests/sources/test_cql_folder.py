"""A Sunbird fixture folder (CQL INSERT dumps, Redis user hashes, a search response) as a source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exhaust.errors import BadInput, SourceDataError
from exhaust.settings import Settings
from exhaust.sources.cql_folder import open_cql_folder
from exhaust.sources.memory import MemoryTables
from exhaust.sources.open import open_source, open_tables

CQL = """
CREATE TABLE sunbird_courses.course_batch (courseid text, batchid text, name text, PRIMARY KEY (courseid, batchid));
INSERT INTO sunbird_courses.course_batch (courseid, batchid, name) VALUES ('do_c', 'b1', 'Batch One');
INSERT INTO sunbird_courses.user_enrolments (userid, courseid, batchid, active) VALUES ('u1', 'do_c', 'b1', true);
INSERT INTO dev_hierarchy_store.content_hierarchy (identifier, hierarchy)
  VALUES ('do_c', '{"identifier": "do_c", "children": []}');
INSERT INTO sunbird_programs.program_enrollment (program_id, user_id) VALUES ('p', 'u1');
"""


def folder(tmp_path: Path, *, users: object = None, search: object = None) -> Path:
    root = tmp_path / "fixture"
    root.mkdir()
    (root / "dump.cql").write_text(CQL, encoding="utf-8")
    if users is not None:
        (root / "redis-users.json").write_text(json.dumps(users), encoding="utf-8")
    if search is not None:
        (root / "content-search.json").write_text(json.dumps(search), encoding="utf-8")
    return root


def test_any_folder_spec_with_cql_files_is_a_fixture_source(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        users={"user:u1": {"firstname": "Asha", "state": "Goa"}},
        search={
            "result": {"count": 1, "content": [{"identifier": "do_c", "name": "Course C", "status": "Live"}]}
        },
    )
    for spec in (str(root), f"files:{root}"):
        source = open_source(spec, Settings())
        assert source.batch("b1")["name"] == "Batch One"
        assert source.users(["u1"]).to_pylist()[0]["firstname"] == "Asha"
        assert source.search_collections({"identifier": ["do_c"]})[0]["name"] == "Course C"
    assert isinstance(open_tables(str(root)), MemoryTables)  # e.g. for `exhaust source copy --from`


def test_hashes_may_be_a_list_and_search_a_list_of_items(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        users=[{"key": "user:u1", "hash": {"firstname": "Asha"}}],
        search=[{"identifier": "do_c", "status": "Retired"}],
    )
    source = open_cql_folder(root)
    assert source.users(["u1"]).to_pylist()[0]["firstname"] == "Asha"
    assert source.search_collections({"identifier": ["do_c"]})[0]["status"] == "Retired"


def test_without_a_search_response_the_stored_hierarchies_answer_search(tmp_path: Path) -> None:
    source = open_cql_folder(folder(tmp_path))
    assert [c["identifier"] for c in source.search_collections({"status": "Live"})] == ["do_c"]


def test_cql_and_table_files_in_one_folder_are_refused(tmp_path: Path) -> None:
    root = folder(tmp_path)
    (root / "course_batch.csv").write_text("batchid,courseid\nb2,do_c\n", encoding="utf-8")
    with pytest.raises(
        BadInput, match=r"holds both CQL files and table files \(course_batch\.csv\): keep one kind"
    ):
        open_source(str(root), Settings())


def test_a_malformed_hash_file_is_an_error_naming_it(tmp_path: Path) -> None:
    root = folder(tmp_path)
    (root / "redis-users.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceDataError, match=r"^cannot read redis-users\.json"):
        open_source(str(root), Settings())
    (root / "redis-users.json").write_text('{"u1": {"firstname": "A"}}', encoding="utf-8")
    with pytest.raises(SourceDataError, match=r"key 'u1' is not of the form user:<id>"):
        open_source(str(root), Settings())
