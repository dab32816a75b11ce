"""Test support for jobs: a small source folder, a stand-in report builder, a moto S3 server."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from exhaust.settings import Settings
from exhaust.sources.base import Source
from exhaust.sources.open import open_source
from tests.builders import batch, course, enrolment, hierarchy_row, leaf, unit, write_source

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"


def make_source(folder: Path) -> Path:
    """Batches b1..b3 of a live course, `br` of a retired one, `bm` of a course without hierarchy."""
    live = course("do_c1", [unit("do_u1", [leaf("do_l1"), leaf("do_l2")])], channel="ch-1")
    retired = course("do_old", [leaf("do_l9")], status="Retired", channel="ch-1")
    other = course("do_c2", [leaf("do_l5")], name="Other", channel="ch-2")
    users = [f"user-{i}" for i in range(3)]
    enrolments = [
        enrolment(u, "do_c1", b, contentstatus={"do_l1": 2}) for b in ("b1", "b2", "b3") for u in users
    ]
    enrolments += [enrolment("user-0", "do_c2", "b4")]
    return write_source(
        folder,
        course_batch=[
            batch("b1", "do_c1"),
            batch("b2", "do_c1"),
            batch("b3", "do_c1"),
            batch("b4", "do_c2"),
            batch("br", "do_old"),
            batch("bm", "do_missing"),
        ],
        user_enrolments=enrolments,
        content_hierarchy=[hierarchy_row(live), hierarchy_row(retired), hierarchy_row(other)],
        users=[{"userid": u, "firstname": u.title(), "lastname": "Test"} for u in users],
    )


def stand_in_builder(
    calls: list[str] | None = None,
    *,
    delay: float = 0.0,
    fail: Callable[[str], Exception | None] | None = None,
    calls_file: Path | None = None,
    during: Callable[[str], None] | None = None,
) -> Callable:
    """A report builder with `build_report`'s signature: one row per enrolment, written atomically."""

    def build(
        source: Source, dataset: str, batch_id: str, output: Path, *, requested_channel=None, profile=None
    ):
        source.batch(batch_id)  # BatchNotFound as the real one
        if calls is not None:
            calls.append(batch_id)
        if calls_file is not None:
            with open(calls_file, "a") as handle:
                handle.write(f"{batch_id} {os.getpid()}\n")
        error = fail(batch_id) if fail else None
        if error is not None:
            raise error
        table = source.enrolments(batch_id).select(["userid", "courseid", "batchid"])
        table = table.rename_columns(["User UUID", "Collection Id", "Batch Id"])
        partial = output.with_suffix(".part")
        pacsv.write_csv(table, partial)
        if during is not None:
            during(batch_id)
        if delay:
            time.sleep(delay)
        partial.replace(output)
        return Result(rows=table.num_rows, path=output, collection_id=source.batch(batch_id)["courseid"])

    return build


class Result:
    def __init__(self, rows: int, path: Path, collection_id: str) -> None:
        self.rows, self.path, self.collection_id = rows, path, collection_id


def source_opener(folder: Path) -> Callable[[], Source]:
    return lambda: open_source(str(folder))


def make_settings(tmp: Path, db_url: str, table: str, **extra) -> Settings:
    values = {
        "data_dir": tmp / "data",
        "db_url": db_url,
        "job_table": table,
        "storage_url": str(tmp / "storage"),
        "source": str(tmp / "source"),
        "lease_seconds": 5,
        "retry_backoff_seconds": 0,
        "poll_seconds": 0.1,
        "signing_secret": "test-secret",
    }
    values.update(extra)
    return Settings(**values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_s3(bucket: str = "reports") -> Iterator[dict]:
    """A moto S3 server on a free loopback port with one bucket; yields s3fs storage options."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": "us-east-1"},
    }
    try:
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
            region_name="us-east-1",
        )  # fmt: skip
        client.create_bucket(Bucket=bucket)
        yield options
    finally:
        server.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 15, step: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def table_of(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows)
