"""The engine backends: one Ibis connection per report run, DuckDB by default, PySpark when asked.

Report logic is written once as Ibis expressions; a backend only loads Arrow tables and runs them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import ibis
import pyarrow as pa

from exhaust.errors import BadInput
from exhaust.settings import get_settings


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

# Spark's log4j configuration for the driver: warnings and progress stay off the user's terminal
# (Spark's defaults print a banner, a WARN per missing native library and a bar per stage on stderr).
LOG4J2_PROPERTIES = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = off
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


def _log4j_file() -> Path:
    """The driver's log4j2 configuration, written once per process to a private temporary file."""
    folder = Path(tempfile.mkdtemp(prefix="exhaust-spark-"))
    path = folder / "log4j2.properties"
    path.write_text(LOG4J2_PROPERTIES, encoding="utf-8")
    return path


@contextlib.contextmanager
def _jvm_output_to(path: Path) -> Iterator[None]:
    """Start the Spark JVM with its stdout and stderr going to `path`.

    The JVM inherits the process's file descriptors 1 and 2 when pyspark launches it, and writes some
    lines before any log configuration applies (`WARNING: Using incubator modules`). They are pointed
    at `path` while the JVM starts, then restored: the JVM keeps the file, the user's terminal stays clean.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


def spark_session(master: str | None = None):
    """One Spark session per process (starting Spark takes seconds), on `master` (EXHAUST_SPARK_MASTER)."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise BadInput("the spark engine needs pyspark: pip install 'exhaust[spark]'") from None
            from exhaust.engine import spark_compat

            spark_compat.apply()
            settings = get_settings()
            log4j_path = _log4j_file()
            log4j = log4j_path.as_uri()
            builder = (
                SparkSession.builder.master(master or settings.spark_master)
                .appName("exhaust")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log4j}")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.sql.shuffle.partitions", "4")
            )
            for key, value in settings.spark_conf.items():
                builder = builder.config(key, str(value))
            with _jvm_output_to(log4j_path.with_name("spark-driver.log")):
                _spark_session = builder.getOrCreate()
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
