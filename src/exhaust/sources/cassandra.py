"""The Cassandra adapter: Sunbird's tables read directly from its clusters (cassandra-driver).

Kept thin on purpose, because no Cassandra server runs where this is developed: the query plan and the
row conversion are plain functions with unit tests, and the driver calls around them are few. **This
adapter has not been run against a live cluster.**

Each read touches only what the requested batches need. When the filters name every partition-key
column (`content_hierarchy` by identifier, `system_settings` by id) the partitions are read directly;
otherwise (`user_enrolments` by batchid, `user_activity_agg` by context_id, ...) the table is scanned by
token ranges with the filter pushed to the server (`ALLOW FILTERING`), so other batches' rows never
leave the cluster. The driver pages every query (`fetch_size`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import UUID

import pyarrow as pa

from exhaust.errors import BadInput, SourceDataError
from exhaust.sources.base import Filters
from exhaust.sources.coerce import rows_to_table
from exhaust.sources.failures import SourceUnavailable
from exhaust.sources.memory import filter_table
from exhaust.sources.schema import TABLES, empty_table

# Partition keys of Sunbird's tables (lern-data-products data.cql).
PARTITION_KEYS: dict[str, tuple[str, ...]] = {
    "course_batch": ("courseid",),
    "user_enrolments": ("userid",),
    "user_activity_agg": ("activity_type", "activity_id", "user_id"),
    "assessment_aggregator": ("user_id", "course_id"),
    "user_consent": ("user_id",),
    "content_hierarchy": ("identifier",),
    "system_settings": ("id",),
}
# The reference's keyspaces (research §2.1); the hierarchy store is `<env>_hierarchy_store` per deployment.
DEFAULT_KEYSPACES: dict[str, str] = {
    "course_batch": "sunbird_courses",
    "user_enrolments": "sunbird_courses",
    "assessment_aggregator": "sunbird_courses",
    "user_activity_agg": "sunbird_courses",
    "user_consent": "sunbird",
    "system_settings": "sunbird",
    "content_hierarchy": "dev_hierarchy_store",
}
# Columns the reference reads under an older name (or type) than the logical model's.
_BATCH_DATES = {"start_date": "startdate", "end_date": "enddate"}
MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


# -- row conversion ----------------------------------------------------------------------------------
def plain(value: object) -> object:
    """A driver value as plain Python: maps to dicts, sets and lists to lists, UDTs to dicts.

    The driver gives `OrderedMapSerializedKey` for maps, `SortedSet` for sets, named tuples (or
    registered classes) for UDTs, `Decimal` for decimals, naive UTC `datetime`s and `UUID`s.
    """
    if value is None or isinstance(value, str | bool | int | float | datetime | date):
        return value
    for kinds, convert in _SCALARS:
        if isinstance(value, kinds):
            return convert(value)
    return _plain_composite(value)


_SCALARS: tuple[tuple[type | tuple[type, ...], Callable[[Any], object]], ...] = (
    (Decimal, float),
    (UUID, str),
    ((bytes, bytearray), lambda b: b.hex()),
)


def _plain_composite(value: Any) -> object:
    """Maps, UDTs (named tuples or registered classes), driver dates and collections, else the text."""
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if hasattr(value, "_asdict"):  # a UDT as a named tuple
        return {k: plain(v) for k, v in value._asdict().items()}
    if hasattr(value, "date") and callable(value.date) and type(value).__name__ == "Date":
        return value.date()  # cassandra.util.Date
    if isinstance(value, list | tuple | AbstractSet) or hasattr(value, "__iter__"):  # lists, SortedSet
        return [plain(v) for v in value]
    if hasattr(value, "__dict__"):  # a UDT mapped to a registered class
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def _row_dict(row: object) -> dict[str, Any]:
    if isinstance(row, Mapping):
        return dict(row)
    if hasattr(row, "_asdict"):
        return row._asdict()
    raise TypeError(f"unsupported row type {type(row).__name__}")


def _batch_date(value: object, legacy: object) -> object:
    """Batch dates: the timestamp column as `yyyy-MM-dd`, else the legacy text column."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return value if value is not None else legacy


def driver_rows_to_table(rows: Iterable[object], table: str, origin: str) -> pa.Table:
    """Rows as the driver returns them (named tuples or dicts) as the logical table `table`."""

    def converted() -> Iterable[tuple[int, dict]]:
        for number, row in enumerate(rows, start=1):
            values = {name: plain(value) for name, value in _row_dict(row).items()}
            if table == "course_batch":
                for name, legacy in _BATCH_DATES.items():
                    values[name] = _batch_date(values.get(name), values.get(legacy))
            yield number, values

    return rows_to_table(converted(), table, origin)


# -- query plan --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """One CQL statement with `?` markers and the parameter tuples to run it with."""

    cql: str
    params: list[tuple] = field(default_factory=list)


def token_ranges(splits: int) -> list[tuple[int, int]]:
    """`splits` contiguous (start, end] ranges covering the whole Murmur3 token ring."""
    step = (MAX_TOKEN - MIN_TOKEN) // splits
    bounds = [MIN_TOKEN + i * step for i in range(splits)] + [MAX_TOKEN]
    return list(itertools.pairwise(bounds))


def plan(table: str, keyspace: str, filters: Filters, splits: int = 64) -> Query | None:
    """The statement reading `table` restricted by `filters`, or None when a filter allows nothing."""
    if any(len(values) == 0 for values in filters.values()):
        return None
    partition = PARTITION_KEYS[table]
    target = f'"{keyspace}"."{table}"'
    if all(name in filters for name in partition):
        where = " AND ".join(f'"{name}" = ?' for name in partition)
        values = [sorted(set(map(str, filters[name]))) for name in partition]
        return Query(f"SELECT * FROM {target} WHERE {where}", list(itertools.product(*values)))
    token = "token({})".format(", ".join(f'"{name}"' for name in partition))
    names = sorted(filters)
    conditions = [f"{token} > ?", f"{token} <= ?"] + [f'"{name}" = ?' for name in names]
    suffix = " ALLOW FILTERING" if names else ""
    combos = list(itertools.product(*(sorted(set(map(str, filters[name]))) for name in names)))
    params = [(start, end, *combo) for combo in combos for start, end in token_ranges(splits)]
    return Query(f"SELECT * FROM {target} WHERE {' AND '.join(conditions)}{suffix}", params)


# -- the adapter -------------------------------------------------------------------------------------
@dataclass
class CassandraSettings:
    """Connection settings parsed from `cassandra://[user:password@]host1,host2[:port]/?dc=…`."""

    hosts: list[str]
    port: int = 9042
    username: str | None = None
    password: str | None = None
    local_dc: str | None = None
    consistency: str = "LOCAL_QUORUM"
    keyspaces: dict[str, str] = field(default_factory=dict)


def parse_cassandra_spec(spec: str) -> CassandraSettings:
    """Parse the source URL; `keyspace.<table>=<name>` query parameters override keyspaces."""
    parts = urlsplit(spec)
    if parts.scheme != "cassandra":
        raise BadInput("a Cassandra source URL starts with cassandra://")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        name, _, secret = userinfo.partition(":")
        username, password = unquote(name), unquote(secret) if secret else None
    hosts, ports = [], set()
    for item in filter(None, hostlist.split(",")):
        host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
        hosts.append(host)
        if port:
            ports.add(int(port))
    if not hosts:
        raise BadInput("the Cassandra source URL names no host (cassandra://host1,host2/)")
    if len(ports) > 1:
        raise BadInput("every host of the Cassandra source URL must use the same port")
    query = dict(parse_qsl(parts.query))
    keyspaces = {k.removeprefix("keyspace."): v for k, v in query.items() if k.startswith("keyspace.")}
    return CassandraSettings(
        hosts=hosts,
        port=ports.pop() if ports else 9042,
        username=username,
        password=password,
        local_dc=query.get("dc"),
        consistency=query.get("consistency", "LOCAL_QUORUM").upper(),
        keyspaces=keyspaces,
    )


class CassandraTables:
    """`TableStore` over Sunbird's Cassandra keyspaces. Untested against a live cluster."""

    def __init__(
        self,
        settings: CassandraSettings,
        keyspaces: Mapping[str, str],
        *,
        fetch_size: int = 5000,
        timeout: float = 60.0,
        splits: int = 64,
        concurrency: int = 8,
    ) -> None:
        self.settings = settings
        self.keyspaces = {**DEFAULT_KEYSPACES, **keyspaces, **settings.keyspaces}
        self.fetch_size = fetch_size
        self.timeout = timeout
        self.splits = splits
        self.concurrency = concurrency
        self._session = None
        self._prepared: dict[str, Any] = {}

    def read(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> pa.Table:
        if table == "users":
            raise BadInput(
                "with a Cassandra source, users come from the Redis cache: set EXHAUST_USERS_REDIS_URL"
            )
        if table not in self.keyspaces:
            raise BadInput(f"no Cassandra keyspace configured for table {table}")
        query = plan(table, self.keyspaces[table], filters, self.splits)
        wanted = list(columns) if columns is not None else TABLES[table].columns
        if query is None:
            return empty_table(table).select(wanted)
        rows = self._execute(query)
        data = driver_rows_to_table(rows, table, f"Cassandra {self.keyspaces[table]}.{table}")
        return filter_table(data, filters, wanted)

    def _connect(self):
        if self._session is not None:
            return self._session
        from cassandra import ConsistencyLevel
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
        from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
        from cassandra.query import dict_factory

        s = self.settings
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=s.local_dc)),
            consistency_level=getattr(ConsistencyLevel, s.consistency, ConsistencyLevel.LOCAL_QUORUM),
            request_timeout=self.timeout,
            row_factory=dict_factory,
        )
        auth = PlainTextAuthProvider(s.username, s.password) if s.username else None
        cluster = Cluster(
            s.hosts,
            port=s.port,
            auth_provider=auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=10,
        )
        try:
            self._session = cluster.connect()
        except NoHostAvailable:
            cluster.shutdown()
            raise SourceUnavailable(
                f"cannot connect to Cassandra at {', '.join(s.hosts)} port {s.port}"
            ) from None
        self._session.default_fetch_size = self.fetch_size
        return self._session

    def _execute(self, query: Query) -> list[object]:
        from cassandra import DriverException, InvalidRequest, OperationTimedOut, RequestExecutionException
        from cassandra.cluster import NoHostAvailable
        from cassandra.concurrent import execute_concurrent_with_args

        session = self._connect()
        try:
            statement = self._prepared.get(query.cql) or session.prepare(query.cql)
            self._prepared[query.cql] = statement
            results = execute_concurrent_with_args(
                session, statement, query.params, concurrency=self.concurrency, raise_on_first_error=True
            )
            return [row for _, result in results for row in result]
        except InvalidRequest as exc:
            raise SourceDataError(f"Cassandra refused a query: {exc}") from None
        except (NoHostAvailable, OperationTimedOut, RequestExecutionException, DriverException) as exc:
            raise SourceUnavailable(
                f"Cassandra read failed: {exc.__class__.__name__}: {str(exc)[:200]}"
            ) from None

    def close(self) -> None:
        if self._session is not None:
            self._session.cluster.shutdown()
            self._session = None
