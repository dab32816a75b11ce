"""PostgreSQL and the Redis user cache hand the engine record batches: the rows held in Python at once
are one fetch (PostgreSQL's server-side cursor) or one pipelined round trip (Redis), never the table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis

from exhaust.sources.postgres import PostgresTables
from exhaust.sources.redis_users import RedisUsers
from tests.conftest import PG_BASE

REDIS_URL = "redis://127.0.0.1:6379/5"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    schema = f"exhaust_stream_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.user_enrolments (userid text, batchid text, courseid text)")
        conn.execute(
            f"INSERT INTO {schema}.user_enrolments SELECT 'u' || g, CASE WHEN g % 10 = 0 THEN 'other' "
            f"ELSE 'b1' END, 'c1' FROM generate_series(1, 5000) g"
        )
    yield schema
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_postgres_scan_streams_one_fetch_at_a_time(pg_schema: str) -> None:
    tables = PostgresTables(PG_BASE, pg_schema, fetch_size=400)
    reader = tables.scan("user_enrolments", {"batchid": ["b1"]}, ["userid", "batchid"])
    sizes = []
    users = set()
    for batch in reader:
        sizes.append(batch.num_rows)
        users.update(batch.column("userid").to_pylist())
    assert sum(sizes) == 4500 and len(users) == 4500  # the other batch's rows never arrive
    assert max(sizes) <= 400  # never more than one fetch held at once
    assert len(sizes) == 12  # ceil(4500 / 400) fetches, each handed on as it came
    assert reader.schema.names == ["userid", "batchid"]


def test_postgres_scan_is_lazy(pg_schema: str) -> None:
    """The first fetch is handed on as soon as it arrives (the rest stays on the server meanwhile)."""
    tables = PostgresTables(PG_BASE, pg_schema, fetch_size=400)
    reader = tables.scan("user_enrolments", {"batchid": ["b1"]}, ["userid"])
    first = reader.read_next_batch()
    assert first.num_rows == 400


@pytest.fixture
def redis_users() -> Iterator[list[str]]:
    client = redis.Redis.from_url(REDIS_URL)
    prefix = uuid.uuid4().hex[:8]
    ids = [f"{prefix}-{i}" for i in range(1_000)]
    pipe = client.pipeline(transaction=False)
    for i, user_id in enumerate(ids):
        if i % 7:  # every 7th user has no profile
            pipe.hset(f"user:{user_id}", mapping={"firstname": f"N{i}", "board": '["CBSE"]'})
    pipe.execute()
    yield ids
    client.delete(*[f"user:{user_id}" for user_id in ids])


def test_redis_users_stream_one_round_trip_at_a_time(redis_users: list[str]) -> None:
    store = RedisUsers(REDIS_URL, chunk=100)
    sizes = []
    names = []
    for batch in store.scan_users(redis_users):
        sizes.append(batch.num_rows)
        names += batch.column("firstname").to_pylist()
        assert set(batch.column("board").to_pylist()) == {"CBSE"}
    assert len(sizes) == 10 and max(sizes) <= 100  # one batch per pipelined HGETALL of 100 keys
    assert sum(sizes) == 1_000 - len(range(0, 1_000, 7))
    assert names[:2] == ["N1", "N2"]
