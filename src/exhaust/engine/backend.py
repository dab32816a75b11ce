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
from exhaust.extras import require
from exhaust.settings import Settings, get_settings
from exhaust.sources.scan import BATCH_ROWS, ROW_COLUMN, ParquetScan, Scan, with_row_numbers


class Backend(Protocol):
    """Loads Arrow tables as Ibis tables and executes expressions back to Arrow."""

    name: str

    def table(self, name: str, data: pa.Table) -> ibis.Table: ...

    def execute(self, expr: ibis.Table) -> pa.Table: ...

    def scan(self, name: str, scan: Scan) -> ibis.Table:
        """A source scan as an Ibis table with the logical columns and `src_row` (source order)."""
        ...

    def execute_batches(self, expr: ibis.Table) -> pa.RecordBatchReader:
        """The result as a stream of record batches (the CSV writer consumes it batch by batch)."""
        ...

    def stage(self, name: str, expr: ibis.Table) -> ibis.Table:
        """`expr` as a table the engine has computed and kept (same rows and columns), where the engine
        needs that to bound its memory; otherwise `expr` itself."""
        ...

    def close(self) -> None: ...


class DuckDBBackend:
    """A DuckDB database private to one report run: memory capped, spilling to a temporary folder."""

    name = "duckdb"

    def __init__(
        self, threads: int | None = None, memory_limit: str = "", spill_dir: Path | None = None
    ) -> None:
        from exhaust.engine import duckdb_compat

        duckdb_compat.apply()
        self.con = ibis.duckdb.connect(threads=threads) if threads else ibis.duckdb.connect()
        self.con.con.execute("SET enable_progress_bar = false")
        # Ibis writes lambdas (list_filter) with the arrow syntax, which DuckDB 2 accepts only when asked.
        self.con.con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
        if memory_limit:
            self.con.con.execute("SET memory_limit = ?", [memory_limit])
        # Every result the reports use is explicitly ordered (ORDER BY, src_row), so DuckDB need not
        # keep scan order: its operators then stream and spill instead of buffering.
        self.con.con.execute("SET preserve_insertion_order = false")
        self._spill = tempfile.TemporaryDirectory(prefix="exhaust-spill-", dir=spill_dir)
        self.con.con.execute("SET temp_directory = ?", [self._spill.name])
        self._count = 0

    def table(self, name: str, data: pa.Table) -> ibis.Table:
        # Registered, not copied: DuckDB scans the Arrow buffers in place (less memory, no load time).
        self.con.con.register(name, data)
        return self.con.table(name)

    def scan(self, name: str, scan: Scan) -> ibis.Table:
        self._count += 1
        if isinstance(scan, ParquetScan):
            raw = self.con.read_parquet(
                scan.path, table_name=f"{name}_file_{self._count}", file_row_number=True
            )
            for column, values in scan.filters.items():
                raw = raw.filter(raw[column].isin(list(values)))
            return raw.select(
                **{logical: raw[stored] for logical, stored in scan.columns.items()},
                **{ROW_COLUMN: raw.file_row_number.cast("int64")},
            )
        # A stream is copied batch by batch into DuckDB's own storage (which spills under the limit).
        stream = f"{name}_stream_{self._count}"
        self.con.con.register(stream, with_row_numbers(scan))
        try:
            self.con.con.execute(f'CREATE TEMP TABLE "{name}_{self._count}" AS SELECT * FROM "{stream}"')
        finally:
            self.con.con.unregister(stream)
        return self.con.table(f"{name}_{self._count}")

    def execute(self, expr: ibis.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def stage(self, name: str, expr: ibis.Table) -> ibis.Table:
        # A temporary table (DuckDB's own storage, which spills under the limit) ends a pipeline: the
        # hash tables of joins in one pipeline are not aware of each other's memory and together break
        # a low limit, so a report joins its per-learner tables one per query.
        self._count += 1
        table = f"{name}_staged_{self._count}"
        self.con.con.execute(f'CREATE TEMP TABLE "{table}" AS {self.con.compile(expr)}')
        return self.con.table(table)

    def execute_batches(self, expr: ibis.Table) -> pa.RecordBatchReader:
        # DuckDB's own streaming reader (Ibis 12 calls a method DuckDB 2 no longer has).
        # On the main connection: registered Arrow tables and temporary tables are visible only there.
        return self.con.con.sql(str(self.con.compile(expr))).to_arrow_reader(BATCH_ROWS)

    def close(self) -> None:
        self.con.disconnect()
        self._spill.cleanup()


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


#: Spark settings the engine sets unless EXHAUST_SPARK_CONF gives them (see docs/scaling.md).
SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # A report's batch is small beside Spark's default of 200 shuffle partitions.
    "spark.sql.shuffle.partitions": "4",
    # A report is one query of some 15 Ibis stages (40-60 Spark stages): adaptive execution re-plans the
    # rest of the query after every stage, which cost the driver more than it saved (docs/benchmarks.md).
    "spark.sql.adaptive.enabled": "false",
}
#: The driver JVM plans each report and gathers its rows: short bursts, for which the C1 compiler alone
#: costs half the CPU of tiered compilation, and the serial collector suffices.
DRIVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_conf(given: dict[str, str], log4j: str) -> dict[str, str]:
    """The session's settings: the engine's defaults, then EXHAUST_SPARK_CONF (which wins). The driver's
    log4j configuration is always added to its Java options (given ones replace only the JIT flags)."""
    conf = {**SPARK_DEFAULTS, **{key: str(value) for key, value in given.items()}}
    options = conf.get("spark.driver.extraJavaOptions", DRIVER_JAVA_OPTIONS)
    conf["spark.driver.extraJavaOptions"] = f"{options} -Dlog4j2.configurationFile={log4j}".strip()
    return conf


def spark_session(master: str | None = None):
    """One Spark session per process (starting Spark takes seconds), on `master` (EXHAUST_SPARK_MASTER)."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
            require("spark", "the spark engine")
            from pyspark.sql import SparkSession

            from exhaust.engine import spark_compat

            spark_compat.apply()
            settings = get_settings()
            log4j_path = _log4j_file()
            log4j = log4j_path.as_uri()
            builder = SparkSession.builder.master(master or settings.spark_master).appName("exhaust")
            for key, value in spark_conf(settings.spark_conf, log4j).items():
                builder = builder.config(key, value)
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

    def scan(self, name: str, scan: Scan) -> ibis.Table:
        """Parquet is read by Spark itself (the executors read the path); a stream goes via the driver."""
        from pyspark.sql import functions as F

        full = self.prefix + name + f"_{len(self.names)}"
        self.names.append(full)
        if isinstance(scan, ParquetScan):
            # The schema is given (no job to infer it from the file), and `src_row` is the row's index
            # in the file (`_metadata.row_index`, as DuckDB's `file_row_number`): a deterministic
            # column, so the batch filter and the column selection reach the Parquet reader. (With
            # `monotonically_increasing_id()` every scan read the whole file, all columns.)
            reader = self.session.read
            if scan.stored_schema is not None:
                from pyspark.sql.pandas.types import from_arrow_schema

                reader = reader.schema(from_arrow_schema(scan.stored_schema))
            frame = reader.parquet(scan.path)
            for column, values in scan.filters.items():
                frame = frame.filter(F.col(column).isin(list(values)))
            frame = frame.select(
                *(F.col(stored).alias(logical) for logical, stored in scan.columns.items()),
                F.col("_metadata.row_index").alias(ROW_COLUMN),
            )
        else:
            data = with_row_numbers(scan).read_all()
            if data.num_rows == 0:  # pyspark cannot infer from an empty Arrow table: give the schema
                from pyspark.sql.pandas.types import from_arrow_schema

                frame = self.session.createDataFrame([], from_arrow_schema(data.schema))
            else:
                frame = self.session.createDataFrame(data)
        frame.createOrReplaceTempView(full)
        return self.con.table(full)

    def execute(self, expr: ibis.Table) -> pa.Table:
        """Spark's Arrow batches, cast to the expression's schema (Ibis 12 goes through pandas)."""
        from ibis.formats.pyarrow import PyArrowData

        self.con._run_pre_execute_hooks(expr)  # in-memory tables and UDFs, as Ibis does (none today)
        data = self.session.sql(self.con.compile(expr)).toArrow()
        return PyArrowData.convert_table(data, expr.schema())

    def execute_batches(self, expr: ibis.Table) -> pa.RecordBatchReader:
        table = self.execute(expr)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=BATCH_ROWS))

    def stage(self, name: str, expr: ibis.Table) -> ibis.Table:
        return expr  # Spark's joins and shuffles spill on their own: the plan stays one query

    def close(self) -> None:
        for name in self.names:
            self.session.catalog.dropTempView(name)


def open_backend(kind: str = "duckdb", settings: Settings | None = None) -> Backend:
    """A fresh backend of `kind` (duckdb or spark), with the memory settings of EXHAUST_DUCKDB_*."""
    if kind == "duckdb":
        settings = settings or get_settings()
        return DuckDBBackend(
            threads=settings.duckdb_threads or None,
            memory_limit=settings.duckdb_memory_limit,
            spill_dir=settings.duckdb_spill_dir,
        )
    if kind == "spark":
        return SparkBackend()
    raise BadInput(f"unknown engine {kind!r}: use duckdb or spark")
