"""The Cassandra adapter without a cluster: row conversion on values made by the driver's own codecs,
the query plan (partition reads, token-range scans restricted to the batch), and the source URL.

No Cassandra server runs here, so the driver calls themselves are untested (see the module docstring).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pyarrow as pa
import pytest
from cassandra import cqltypes as ct
from cassandra.metadata import Murmur3Token
from cassandra.query import dict_factory, named_tuple_factory

from exhaust.errors import BadInput
from exhaust.settings import Settings
from exhaust.sources.cassandra import (
    MAX_TOKEN,
    MIN_TOKEN,
    CassandraTables,
    driver_rows_to_table,
    parse_cassandra_spec,
    plain,
    plan,
    token_ranges,
)
from exhaust.sources.open import open_source
from exhaust.sources.schema import TABLES

UTC = dt.UTC
TEXT_MAP = ct.MapType.apply_parameters([ct.UTF8Type, ct.UTF8Type])
MAP_LIST = ct.ListType.apply_parameters([ct.FrozenType.apply_parameters([TEXT_MAP])])
CONTENT_STATUS = ct.MapType.apply_parameters([ct.UTF8Type, ct.Int32Type])
AGGREGATES = ct.MapType.apply_parameters([ct.UTF8Type, ct.DoubleType])
QUESTION = ct.UserType.make_udt_class(
    "sunbird_courses",
    "question",
    (
        "id",
        "assess_ts",
        "max_score",
        "score",
        "type",
        "title",
        "resvalues",
        "params",
        "description",
        "duration",
    ),
    (
        ct.UTF8Type,
        ct.DateType,
        ct.DoubleType,
        ct.DoubleType,
        ct.UTF8Type,
        ct.UTF8Type,
        MAP_LIST,
        MAP_LIST,
        ct.UTF8Type,
        ct.DecimalType,
    ),
)
QUESTIONS = ct.ListType.apply_parameters([ct.FrozenType.apply_parameters([QUESTION])])


def driver(cql_type, value):
    """`value` as the driver hands it back after reading a column of `cql_type`."""
    return cql_type.from_binary(cql_type.to_binary(value, 4), 4)


def stamp(text: str):
    return driver(ct.DateType, dt.datetime.fromisoformat(text))


def test_enrolment_rows_as_named_tuples() -> None:
    names = [
        "userid",
        "courseid",
        "batchid",
        "active",
        "addedby",
        "certificates",
        "completedon",
        "contentstatus",
        "enrolled_date",
        "enrolleddate",
        "issued_certificates",
        "progress",
        "status",
    ]
    cert = {"name": "Completion", "lastIssuedOn": "2020-08-30"}
    rows = named_tuple_factory(
        names,
        [
            (
                "u1",
                "c1",
                "b1",
                True,
                "x",
                driver(MAP_LIST, [cert]),
                stamp("2020-08-30T10:00:00.120+00:00"),
                driver(CONTENT_STATUS, {"do_b": 2, "do_a": 1}),
                stamp("2020-08-25T13:45:54.150+00:00"),
                None,
                None,
                100,
                2,
            ),
            (
                "u2",
                "c1",
                "b1",
                False,
                None,
                None,
                None,
                None,
                None,
                "2019-11-13 05:41:50:382+0000",
                None,
                None,
                0,
            ),
        ],
    )
    assert type(rows[0].contentstatus).__name__ == "OrderedMapSerializedKey"
    assert rows[0].completedon.tzinfo is None  # the driver gives naive UTC datetimes

    table = driver_rows_to_table(rows, "user_enrolments", "test")

    assert table.schema == TABLES["user_enrolments"].schema
    first, second = table.to_pylist()
    assert first["contentstatus"] == [("do_b", 2), ("do_a", 1)]  # the map keeps the driver's order
    assert first["certificates"] == [[("name", "Completion"), ("lastIssuedOn", "2020-08-30")]]
    assert first["completedon"] == dt.datetime(2020, 8, 30, 10, 0, 0, 120000, tzinfo=UTC)
    assert first["enrolled_date"] == dt.datetime(2020, 8, 25, 13, 45, 54, 150000, tzinfo=UTC)
    assert (first["active"], first["progress"], first["status"]) == (True, 100, 2)
    assert second["contentstatus"] is None and second["certificates"] is None
    assert second["enrolleddate"] == "2019-11-13 05:41:50:382+0000"


def test_assessment_rows_with_question_udts_as_dicts() -> None:
    question = driver(
        QUESTIONS,
        [
            (
                "q1",
                dt.datetime(2020, 8, 26, 9, 59, tzinfo=UTC),
                1.0,
                0.5,
                "mcq",
                "Title",
                [{"1": '{"text":"A"}'}],
                [{"1": '{"text":"A"}'}, {"answer": '{"correct":["1"]}'}],
                None,
                Decimal("1.50"),
            ),
        ],
    )
    assert hasattr(question[0], "_asdict") and isinstance(question[0].duration, Decimal)
    names = [
        "user_id",
        "course_id",
        "batch_id",
        "content_id",
        "attempt_id",
        "created_on",
        "grand_total",
        "last_attempted_on",
        "question",
        "total_max_score",
        "total_score",
        "updated_on",
    ]
    rows = dict_factory(
        names,
        [
            (
                "u1",
                "c1",
                "b1",
                "a1",
                "at1",
                None,
                "0.5/1.0",
                stamp("2020-08-26T10:00:00+00:00"),
                question,
                1.0,
                0.5,
                None,
            )
        ],
    )

    table = driver_rows_to_table(rows, "assessment_aggregator", "test")

    row = table.to_pylist()[0]
    (q,) = row["question"]
    assert q["id"] == "q1" and q["score"] == 0.5 and q["duration"] == 1.5
    assert q["assess_ts"] == dt.datetime(2020, 8, 26, 9, 59, tzinfo=UTC)
    assert q["params"] == [[("1", '{"text":"A"}')], [("answer", '{"correct":["1"]}')]]
    assert row["grand_total"] == "0.5/1.0" and row["total_score"] == 0.5


def test_udt_mapped_to_a_registered_class_and_other_driver_values() -> None:
    class Question:  # what `cluster.register_user_type` makes the driver return
        def __init__(self) -> None:
            self.id = "q9"
            self.duration = Decimal("2")
            self.resvalues = [driver(TEXT_MAP, {"k": "v"})]

    from uuid import UUID

    assert plain(Question()) == {"id": "q9", "duration": 2.0, "resvalues": [{"k": "v"}]}
    assert plain(UUID("12345678-1234-5678-1234-567812345678")) == "12345678-1234-5678-1234-567812345678"
    assert plain(driver(ct.SetType.apply_parameters([ct.UTF8Type]), {"b", "a"})) == ["a", "b"]
    assert plain(driver(ct.SimpleDateType, dt.date(2020, 1, 20))) == dt.date(2020, 1, 20)


def test_batch_rows_take_sunbird_names_and_date_columns() -> None:
    names = [
        "courseid",
        "batchid",
        "name",
        "createdfor",
        "enrollmenttype",
        "mentors",
        "start_date",
        "startdate",
        "end_date",
        "enddate",
        "status",
    ]
    rows = named_tuple_factory(
        names,
        [
            (
                "c1",
                "b1",
                "One",
                ["o1"],
                "open",
                ["m1"],
                stamp("2020-01-20T00:00:00+00:00"),
                "2020-01-19",
                None,
                "2020-12-31",
                1,
            ),
            ("c2", "b2", "Two", None, None, None, None, "2021-02-01", None, None, 0),
        ],
    )
    one, two = driver_rows_to_table(rows, "course_batch", "test").to_pylist()
    assert one == {
        "batchid": "b1",
        "courseid": "c1",
        "name": "One",
        "start_date": "2020-01-20",
        "end_date": "2020-12-31",
        "enrollment_type": "open",
        "status": 1,
        "created_for": ["o1"],
        "mentors": ["m1"],
    }
    assert (two["start_date"], two["end_date"], two["created_for"]) == ("2021-02-01", None, None)


def test_activity_rows_fall_back_to_the_old_agg_map() -> None:
    names = ["activity_type", "activity_id", "user_id", "context_id", "agg", "aggregates"]
    int_map = ct.MapType.apply_parameters([ct.UTF8Type, ct.Int32Type])
    rows = named_tuple_factory(
        names,
        [
            ("Course", "c1", "u1", "cb:b1", driver(int_map, {"completedCount": 3}), None),
            (
                "Course",
                "c1",
                "u2",
                "cb:b1",
                None,
                driver(AGGREGATES, {"completedCount": 1.0, "score:a1": 2.5}),
            ),
        ],
    )
    table = driver_rows_to_table(rows, "user_activity_agg", "test")
    assert table.column("aggregates").to_pylist() == [
        [("completedCount", 3.0)],
        [("completedCount", 1.0), ("score:a1", 2.5)],
    ]


def test_partition_reads_when_the_filters_name_the_partition_key() -> None:
    query = plan("content_hierarchy", "prod_hierarchy_store", {"identifier": ["do_2", "do_1"]})
    assert query.cql == 'SELECT * FROM "prod_hierarchy_store"."content_hierarchy" WHERE "identifier" = ?'
    assert query.params == [("do_1",), ("do_2",)]


def test_batch_tables_are_scanned_by_token_range_with_the_batch_pushed_down() -> None:
    query = plan("user_enrolments", "sunbird_courses", {"batchid": ["b1"]}, splits=8)
    assert query.cql == (
        'SELECT * FROM "sunbird_courses"."user_enrolments" WHERE token("userid") > ? AND token("userid") <= ? '
        'AND "batchid" = ? ALLOW FILTERING'
    )
    assert len(query.params) == 8
    assert {params[2:] for params in query.params} == {("b1",)}  # never another batch
    two = plan("assessment_aggregator", "ks", {"course_id": ["c1"], "batch_id": ["b1", "b2"]}, splits=4)
    assert 'token("user_id", "course_id")' in two.cql and '"batch_id" = ? AND "course_id" = ?' in two.cql
    assert sorted({p[2:] for p in two.params}) == [("b1", "c1"), ("b2", "c1")]
    assert plan("user_enrolments", "ks", {"batchid": []}) is None
    everything = plan("course_batch", "ks", {}, splits=2)
    assert "ALLOW FILTERING" not in everything.cql and len(everything.params) == 2


def test_token_ranges_cover_the_ring_once() -> None:
    ranges = token_ranges(64)
    assert ranges[0][0] == MIN_TOKEN and ranges[-1][1] == MAX_TOKEN
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    for key in (b"u1", b"user-001", b"a962a4ff-b5b5-46ad-a9fa-f54edf1bcccb"):
        token = Murmur3Token.hash_fn(key)
        assert sum(start < token <= end for start, end in ranges) == 1


def test_source_url_and_keyspaces() -> None:
    parsed = parse_cassandra_spec(
        "cassandra://reader:p%40ss@10.0.0.1,10.0.0.2:9142/?dc=dc1&consistency=local_one"
        "&keyspace.content_hierarchy=prod_hierarchy_store"
    )
    assert parsed.hosts == ["10.0.0.1", "10.0.0.2"] and parsed.port == 9142
    assert (parsed.username, parsed.password, parsed.local_dc) == ("reader", "p@ss", "dc1")
    assert parsed.consistency == "LOCAL_ONE"
    tables = CassandraTables(parsed, {"user_consent": "sunbird_users"})  # as EXHAUST_CASSANDRA_KEYSPACES
    assert tables.keyspaces["content_hierarchy"] == "prod_hierarchy_store"  # the URL wins
    assert tables.keyspaces["user_consent"] == "sunbird_users"
    assert tables.keyspaces["user_enrolments"] == "sunbird_courses"  # the reference's default
    with pytest.raises(BadInput, match="same port"):
        parse_cassandra_spec("cassandra://a:1,b:2/")
    with pytest.raises(BadInput, match="names no host"):
        parse_cassandra_spec("cassandra:///")


def test_users_come_from_redis_with_cassandra() -> None:
    tables = CassandraTables(parse_cassandra_spec("cassandra://127.0.0.1/"), Settings().cassandra_keyspaces)
    with pytest.raises(BadInput, match="EXHAUST_USERS_REDIS_URL"):
        tables.read("users", {"userid": ["u1"]})
    assert tables.read("user_enrolments", {"batchid": []}, columns=["userid"]).schema == pa.schema(
        [("userid", pa.string())]
    )  # nothing to read: no connection is attempted
    with pytest.raises(BadInput, match="needs the Redis user cache"):
        open_source("cassandra://127.0.0.1/", Settings(users_redis_url=""))
