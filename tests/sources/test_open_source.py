"""`open_source`: the table store from EXHAUST_SOURCE, users, optional nodes and content from settings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from exhaust.errors import BadInput, ExhaustError
from exhaust.reports.build import build_report
from exhaust.settings import Settings
from exhaust.sources.failures import SourceUnavailable
from exhaust.sources.files import FileTables
from exhaust.sources.open import open_source, open_tables
from exhaust.sources.postgres_copy import copy_tables
from tests.sources.live_services import PG_URL, REDIS_URL, http_server, pg_schema, redis_keys
from tests.sources.sample_data import B1, C1, C2, write_sample

HIERARCHY = "/api/course/v1/hierarchy/"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "files")


@pytest.fixture
def postgres_sample(sample: Path):
    with pg_schema() as schema:
        copy_tables(FileTables(sample), PG_URL, schema)
        yield f"{PG_URL}?schema={schema}"


@pytest.fixture
def redis_db():
    with redis_keys() as (client, keys):
        yield client, keys


def hierarchy_service(trees: dict[str, dict]):
    def handle(method: str, path: str, body: dict | None) -> tuple[int, object]:
        if method == "GET" and path.startswith(HIERARCHY):
            tree = trees.get(path.removeprefix(HIERARCHY))
            return (
                (200, {"result": {"content": tree}}) if tree else (404, {"params": {"errmsg": "not found"}})
            )
        request = body["request"]
        hits = [
            {k: v for k, v in tree.items() if k != "children"}
            for tree in trees.values()
            if tree["identifier"] in request["filters"].get("identifier", [tree["identifier"]])
        ]
        page = hits[request["offset"] : request["offset"] + request["limit"]]
        return 200, {"result": {"count": len(hits), "content": page}}

    return handle


def report(source, tmp_path: Path, name: str) -> list[dict]:
    out = tmp_path / f"{name}.csv"
    build_report(source, "progress-exhaust", B1, out)
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_files_specs(sample: Path) -> None:
    for spec in (str(sample), f"files:{sample}"):
        source = open_source(spec, Settings())
        assert isinstance(source.tables, FileTables)
        assert source.batch(B1)["courseid"] == C1


def test_postgres_with_redis_users_optional_nodes_and_content_api(
    sample: Path, postgres_sample: str, redis_db, tmp_path: Path
) -> None:
    client, keys = redis_db
    for user_id, name in (("u1", "Manju-R"), ("u2", "Mahesh-R")):  # u4, u5: not in the cache
        client.hset(f"user:{user_id}", mapping={"firstname": name, "state": "Redis State", "board": '["X"]'})
        keys.add(f"user:{user_id}")
    client.sadd(f"{C1}:{C1}:optionalnodes", "do_l2")
    keys.add(f"{C1}:{C1}:optionalnodes")
    tree = json.loads(FileTables(sample).read("content_hierarchy", {"identifier": [C1]}).column(1)[0].as_py())
    tree["name"] = "Course One from the API"
    settings = Settings(users_redis_url=REDIS_URL, optional_nodes_redis_url=REDIS_URL, users_redis_chunk=1)

    with http_server(hierarchy_service({C1: tree})) as (base, requests):
        settings.content_api_url = base
        rows = {
            row["User UUID"]: row for row in report(open_source(postgres_sample, settings), tmp_path, "all")
        }

    # The collection's search record is read first (retired? consent?), as Sunbird does; then its tree.
    assert [r.path for r in requests] == ["/api/composite/v1/search", HIERARCHY + C1]
    assert rows["u1"]["Collection Name"] == "Course One from the API"
    assert (rows["u1"]["User Name"], rows["u1"]["State"]) == ("Manju-R", "Redis State")
    assert (rows["u2"]["User Name"], rows["u2"]["State"]) == ("Mahesh-R", "Redis State")
    assert rows["u4"]["User Name"] == "" and rows["u4"]["State"] == ""  # in the table, not in the cache
    # u2 completed do_l2 only, which is optional now: 0 of the counted leaves (25 without optional nodes)
    assert rows["u2"]["Progress"] == "0"
    plain = {
        row["User UUID"]: row for row in report(open_source(postgres_sample, Settings()), tmp_path, "pg")
    }
    assert plain["u2"]["Progress"] == "25" and plain["u1"]["User Name"] == "Manju Kapoor"


def test_settings_come_from_the_environment(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXHAUST_SOURCE", f"files:{sample}")
    monkeypatch.setenv("EXHAUST_USERS_REDIS_URL", "redis://127.0.0.1:1/12")
    monkeypatch.setenv("EXHAUST_CONTENT_API_URL", "http://127.0.0.1:1/api")
    monkeypatch.setenv("EXHAUST_CONTENT_API_RETRIES", "0")
    monkeypatch.setenv("EXHAUST_CASSANDRA_KEYSPACES", '{"content_hierarchy": "prod_hierarchy_store"}')
    settings = Settings()
    assert settings.cassandra_keyspaces == {"content_hierarchy": "prod_hierarchy_store"}
    cassandra = open_tables("cassandra://10.0.0.1,10.0.0.2/", settings)  # no connection until a read
    assert cassandra.keyspaces["content_hierarchy"] == "prod_hierarchy_store"
    assert cassandra.keyspaces["user_enrolments"] == "sunbird_courses"
    source = open_source(settings.source_spec(), settings)
    with pytest.raises(SourceUnavailable, match=r"Redis user cache at redis://127\.0\.0\.1:1/12"):
        source.users(["u1"])
    with pytest.raises(SourceUnavailable, match="content service could not connect"):
        source.hierarchy(C1)


def test_a_failing_service_is_a_clear_job_error(sample: Path, tmp_path: Path) -> None:
    def broken(method: str, path: str, body: dict | None) -> tuple[int, object]:
        return 502, {"params": {"errmsg": "bad gateway"}}

    with http_server(broken) as (base, _):
        settings = Settings(content_api_url=base, content_api_retries=1)
        with pytest.raises(ExhaustError) as caught:
            build_report(open_source(str(sample), settings), "progress-exhaust", B1, tmp_path / "x.csv")
    assert "answered HTTP 502" in str(caught.value)
    assert not (tmp_path / "x.csv").exists()


def test_search_uses_the_content_service_when_configured(sample: Path) -> None:
    trees = {}
    for identifier in (C1, C2):
        text = FileTables(sample).read("content_hierarchy", {"identifier": [identifier]}).column(1)[0].as_py()
        trees[identifier] = json.loads(text) | {"status": "Retired" if identifier == C2 else "Live"}
    with http_server(hierarchy_service(trees)) as (base, requests):
        source = open_source(str(sample), Settings(content_api_url=base))
        found = source.search_collections({"identifier": [C1, C2]})
    assert [(item["identifier"], item["status"]) for item in found] == [(C1, "Live"), (C2, "Retired")]
    assert [r.body["request"]["filters"] for r in requests] == [{"identifier": [C1, C2]}]


def test_search_falls_back_to_the_hierarchy_store(sample: Path) -> None:
    source = open_source(str(sample), Settings())
    assert [c["identifier"] for c in source.search_collections({"identifier": [C1, "do_nope"]})] == [C1]
    by_channel = source.search_collections({"channel": "channel-2", "status": ["Live", "Unlisted"]})
    assert [(c["identifier"], c["name"]) for c in by_channel] == [(C2, "Course Two")]
    assert "children" not in by_channel[0]
    assert source.search_collections({"name": ["Course One"], "channel": ["channel-2"]}) == []


def test_unsupported_and_missing_specs_are_clear_errors() -> None:
    with pytest.raises(BadInput, match=r"unsupported source mysql://me:\*\*\*@host/db") as caught:
        open_source("mysql://me:pw-secret@host/db", Settings())
    assert "pw-secret" not in str(caught.value)
    with pytest.raises(BadInput, match="no source configured"):
        open_source("  ", Settings())
