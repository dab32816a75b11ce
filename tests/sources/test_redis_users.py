"""The Redis user cache and optional-node sets, against the real Redis (DB 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exhaust.errors import SourceDataError
from exhaust.sources.failures import SourceUnavailable
from exhaust.sources.redis_users import RedisOptionalNodes, RedisUsers, cache_value
from exhaust.sources.schema import TABLES
from tests.sources.live_services import REDIS_URL, redis_commands, redis_keys


def upstream_hashes(sunbird_fixtures: Path, suite: str) -> list[dict]:
    inputs = json.loads((sunbird_fixtures / "extracted-from-test-code" / "test-inputs.json").read_text())
    return inputs[suite]["redis_user_hashes_db0"]


@pytest.fixture
def redis_db():
    with redis_keys() as (client, keys):
        yield client, keys


def load(client, keys: set[str], hashes: list[dict]) -> None:
    for entry in hashes:
        client.hset(entry["key"], mapping=entry["hash"])
        keys.add(entry["key"])


def test_upstream_fixture_users_read_back(redis_db, sunbird_fixtures: Path) -> None:
    client, keys = redis_db
    hashes = upstream_hashes(sunbird_fixtures, "TestUserInfoExhaustJob.scala")
    load(client, keys, hashes)
    ids = [entry["key"].removeprefix("user:") for entry in hashes]

    table = RedisUsers(REDIS_URL, chunk=3).users([*ids, "not-cached"])

    assert table.schema == TABLES["users"].schema
    assert sorted(table.column("userid").to_pylist()) == sorted(ids)
    rows = {row["userid"]: row for row in table.to_pylist()}
    first = rows["user-001"]  # the hash says userid a962a4ff-…: the key wins
    assert first["firstname"] == "Manju"
    assert first["lastname"] == "Kapoor"
    assert first["board"] == "IGOT-Health"  # stored as the JSON array text ["IGOT-Health"]
    assert first["schooludisecode"] == "3183211"
    assert first["orgname"] == "Root Org2"
    assert first["phone"] == ""  # an empty value stays empty, not null
    assert rows["user-002"]["lastname"] is None  # a field missing from the hash is null
    assert rows["user-002"]["orgname"] == "Pre-prod Custodian Organization"
    for entry in hashes:  # every field of the schema comes back as stored (board unwrapped)
        row = rows[entry["key"].removeprefix("user:")]
        for field in TABLES["users"].columns[1:]:
            assert row[field] == cache_value(field, entry["hash"].get(field))


def test_reads_exactly_the_asked_users_in_pipelined_chunks(redis_db) -> None:
    client, keys = redis_db
    load(client, keys, [{"key": f"user:u{i}", "hash": {"firstname": f"F{i}"}} for i in range(10)])
    asked = ["u1", "u3", "u5", "u7", "u9"]
    store = RedisUsers(REDIS_URL, chunk=2)

    with redis_commands(client) as seen:
        table = store.users(asked)

    assert table.column("userid").to_pylist() == asked
    assert table.column("firstname").to_pylist() == ["F1", "F3", "F5", "F7", "F9"]
    commands = [c for c in seen if c.startswith('"HGETALL"') or c.startswith("HGETALL")]
    read_keys = sorted(c.split()[1].strip('"') for c in commands)
    assert read_keys == sorted(f"user:{u}" for u in asked)  # no other user's hash is read
    assert not [c for c in seen if "SCAN" in c.upper() or "KEYS" in c.upper()]


def test_no_users_asked_gives_an_empty_table() -> None:
    table = RedisUsers(REDIS_URL).users([])
    assert table.num_rows == 0
    assert table.schema == TABLES["users"].schema


def test_cache_value_rules() -> None:
    assert cache_value("board", '["IGOT-Health"]') == "IGOT-Health"
    assert cache_value("board", '["CBSE", "ICSE"]') == "CBSE"
    assert cache_value("usertype", '["teacher","administrator"]') == "teacher,administrator"
    assert cache_value("board", "[]") is None
    assert cache_value("schoolname", "St. Mary \\[Main\\]") == "St. Mary [Main]"
    assert cache_value("firstname", "[not json") == "[not json"
    assert cache_value("board", "CBSE") == "CBSE"
    assert cache_value("board", None) is None


def test_wrong_key_type_is_a_clear_error(redis_db) -> None:
    client, keys = redis_db
    client.set("user:strange", "x")
    keys.add("user:strange")
    with pytest.raises(SourceDataError, match=r"user:strange is not a hash"):
        RedisUsers(REDIS_URL).users(["strange"])


def test_unreachable_redis_is_a_clear_error_not_a_hang() -> None:
    store = RedisUsers("redis://:secret-pw@127.0.0.1:1/12", timeout=2)
    with pytest.raises(SourceUnavailable) as caught:
        store.users(["u1"])
    assert "Redis user cache at redis://:***@127.0.0.1:1/12" in str(caught.value)
    assert "secret-pw" not in str(caught.value)


def test_optional_nodes_from_the_relation_cache_set(redis_db) -> None:
    client, keys = redis_db
    key = "do_course:do_course:optionalnodes"
    client.sadd(key, "do_a", "do_b")
    keys.add(key)
    nodes = RedisOptionalNodes(REDIS_URL)
    assert nodes.optional_nodes("do_course") == {"do_a", "do_b"}
    assert nodes.optional_nodes("do_other") == set()
