"""The engine backends: one Ibis connection per report run, DuckDB by default, PySpark when asked.

Report logic is written once as Ibis expressions; a backend only loads Arrow tables and runs them.
"""

from __future__ import annotations

import threading
import uuid
from typing import Protocol

import ibis
import pyarrow as pa

from exhaust.errors import BadInput
from exhaust.extras import require


class Backend(Protocol):
    """Loads Arrow tables as Ibis tables and executes expressions back to Arrow."""

    name: str

    def table(self, name: str, data: pa.Table) -> ibis.Table: ...

    def execute(self, expr: ibis.Table) -> pa.Table: ...

    def close(self) -> None: ...


class DuckDBBackend:
    """An in-memory DuckDB database private to one report run."""

    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        self.con = ibis.duckdb.connect(threads=threads) if threads else ibis.duckdb.connect()
        self.con.con.execute("SET enable_progress_bar = false")

    def table(self, name: str, data: pa.Table) -> ibis.Table:
        # Registered, not copied: DuckDB scans the Arrow buffers in place (less memory, no load time).
        self.con.con.register(name, data)
        return self.con.table(name)

    def execute(self, expr: ibis.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def close(self) -> None:
        self.con.disconnect()


_spark_lock = threading.Lock()
_spark_session = None


def spark_session():
    """One local Spark session per process (starting Spark takes seconds)."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
            require("spark", "the spark engine")
            from pyspark.sql import SparkSession

            _spark_session = (
                SparkSession.builder.master("local[2]")
                .appName("exhaust")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate()
            )
            _spark_session.sparkContext.setLogLevel("ERROR")
        return _spark_session


class SparkBackend:
    """The same expressions on PySpark; table names are unique because the session is shared."""

    name = "spark"

    def __init__(self) -> None:
        self.session = spark_session()
        self.con = ibis.pyspark.connect(self.session)
        self.prefix = f"x{uuid.uuid4().hex[:12]}_"
        self.names: list[str] = []

    def table(self, name: str, data: pa.Table) -> ibis.Table:
        full = self.prefix + name
        self.names.append(full)
        self.session.createDataFrame(data).createOrReplaceTempView(full)
        return self.con.table(full)

    def execute(self, expr: ibis.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def close(self) -> None:
        for name in self.names:
            self.session.catalog.dropTempView(name)


def open_backend(kind: str = "duckdb") -> Backend:
    """A fresh backend of `kind` (duckdb or spark)."""
    if kind == "duckdb":
        return DuckDBBackend()
    if kind == "spark":
        return SparkBackend()
    raise BadInput(f"unknown engine {kind!r}: use duckdb or spark")
