"""The TPD driver: emitted batch ids → progress-exhaust request(s) → zips → `diksha_tpd` → aggregates → JSON.

cQube's NiFi chain (research-cqube-emission §6.2) as one pipeline with retries:

1. `start`: the emitted `diksha_api_progress_exhaust_batch_ids` set the list; one request per 20 batches
   (the API's limit) goes to the dataset API; a run already started today is reused, as cQube does.
2. `advance` (called by `exhaust tpd run` and by the scheduler leader): polls `list/{tag}`; once a request
   is SUCCESS (or FAILED with some files), reads it for fresh signed links, downloads each batch's zip,
   opens it with the key, normalises the CSV and ingests it with the emission ingestion (counts, error
   file, upsert). A refused link is re-read once; network trouble and 5xx are retried on the next advance
   (at most `MAX_FILE_ATTEMPTS`); a zip that does not open, a file that is not a progress exhaust or a
   batch the API made no file for is recorded and the others go on.
3. When every file of every request has an outcome: `diksha_tpd_agg` is rebuilt and the JSON published.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exhaust.emission.ingest import OK, ingest_csv
from exhaust.emission.tables import DATA_TABLES, open_cqube_engine
from exhaust.errors import BadInput, ExhaustError, RemoteServiceError, SourceDataError
from exhaust.jobs.db import utcnow
from exhaust.outputs.storage import Storage, open_storage
from exhaust.tpd import aggregate, reports
from exhaust.tpd.dataset_api import DatasetApiClient, LinkExpired, RemoteJob
from exhaust.tpd.normalise import (
    TPD_COLUMNS,
    TPD_SCHEMA,
    header_of,
    layout_of,
    open_report_zip,
    read_normalised,
)
from exhaust.tpd.state import (
    DONE,
    FAILED,
    FAILURE,
    FILE_OPEN,
    IN_PROGRESS,
    INGESTED,
    NO_FILE,
    PARTIAL,
    PENDING,
    REJECTED,
    RETRY,
    SUCCESS,
    WAITING,
    diksha_api_file,
    diksha_api_meta,
    ensure_state_tables,
)

log = logging.getLogger("exhaust.tpd")
DATASET = "progress-exhaust"
MAX_BATCHES_PER_REQUEST = 20
MAX_FILE_ATTEMPTS = 3
LEASE_SECONDS = 600
ClientFactory = Callable[[], DatasetApiClient]


def emitted_batch_ids(engine: Engine) -> list[str]:
    """The batch ids of the last emitted `diksha_api_progress_exhaust_batch_ids` file (text, sorted)."""
    table = DATA_TABLES["diksha_api_progress_exhaust_batch_ids"]
    with engine.connect() as conn:
        return [
            str(b) for b in conn.execute(sa.select(table.c.batch_id).order_by(table.c.batch_id)).scalars()
        ]


def batch_of(url: str, requested: list[str]) -> str:
    """The batch of a report link: its file name is `<batchId>_progress_<yyyyMMdd>.zip` (cQube: before '_')."""
    name = PurePosixPath(urlsplit(url).path).name
    matches = [b for b in requested if name.startswith(f"{b}_")]
    return max(matches, key=len) if matches else name.split("_", 1)[0]


class TpdFeed:
    """Runs of the TPD feed against one dataset API, into the cQube tables of one database."""

    def __init__(
        self,
        settings: Any,
        *,
        engine: Engine | None = None,
        storage: Storage | None = None,
        client: ClientFactory | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or open_cqube_engine(settings)
        ensure_state_tables(self.engine)
        self.storage = storage or open_storage(settings)
        self._client = client or self._default_client
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def _default_client(self) -> DatasetApiClient:
        s = self.settings
        return DatasetApiClient(
            s.tpd_api_url, s.tpd_api_token.get_secret_value(), s.tpd_channel, timeout=s.tpd_timeout_seconds,
            retries=s.tpd_retries, backoff=s.tpd_retry_backoff_seconds,
        )  # fmt: skip

    @property
    def key(self) -> str | None:
        return self.settings.tpd_encryption_key.get_secret_value() or None

    # ---- 1. start ---------------------------------------------------------------------------
    def start(self, *, force: bool = False) -> str:
        """Submit today's request(s) for the emitted batch ids, or return today's run; returns the run id."""
        if not force and (existing := self.todays_run()) is not None:
            return existing
        ids = emitted_batch_ids(self.engine)
        if not ids:
            raise BadInput(
                "no batch ids were emitted: emit diksha/diksha_api_progress_exhaust_batch_ids first"
            )
        run_id = uuid.uuid4().hex
        zone = ZoneInfo(self.settings.timezone)
        day = datetime.now(zone).strftime("%Y%m%d")
        chunks = [ids[i : i + MAX_BATCHES_PER_REQUEST] for i in range(0, len(ids), MAX_BATCHES_PER_REQUEST)]
        config_extra = {"profile": self.settings.tpd_profile} if self.settings.tpd_profile else {}
        with self._client() as client:
            for index, chunk in enumerate(chunks, start=1):
                tag = f"cqube-tpd-{day}-{index}"
                now = utcnow()
                row = {
                    "ff_uuid": uuid.uuid4().hex, "run_id": run_id, "tag": tag, "batch_id": chunk,
                    "channel_id": client.channel, "dataset": DATASET, "requested_on": now, "updated_on": now,
                    "total_files": 0, "files_processed": 0, "files_emitted": 0,
                }  # fmt: skip
                try:
                    job = client.submit(
                        tag=tag, dataset=DATASET, dataset_config={"batchFilter": chunk, **config_extra},
                        encryption_key=self.key,
                    )  # fmt: skip
                except RemoteServiceError as error:
                    status = WAITING if error.transient else FAILURE
                    row.update(request_status=None, cqube_process_status=status, error=error.message)
                else:
                    row.update(
                        request_id=job.request_id, request_status=job.status or "SUBMITTED",
                        request_channel=job.tag.split(":", 1)[1] if ":" in job.tag else client.channel,
                        cqube_process_status=WAITING,
                    )  # fmt: skip
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(diksha_api_meta).values(**row))
        log.info("TPD run %s started: %d batch(es) in %d request(s)", run_id, len(ids), len(chunks))
        return run_id

    def todays_run(self) -> str | None:
        zone = ZoneInfo(self.settings.timezone)
        start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        m = diksha_api_meta
        query = (
            sa.select(m.c.run_id, sa.func.max(m.c.requested_on).label("at"))
            .where(m.c.requested_on >= start, m.c.requested_on < start + timedelta(days=1))
            .group_by(m.c.run_id)
            .order_by(sa.desc("at"))
        )
        with self.engine.connect() as conn:
            for run_id, _ in conn.execute(query):
                statuses = {r.cqube_process_status for r in self._metas(conn, run_id)}
                if statuses != {FAILURE}:
                    return str(run_id)
        return None

    # ---- 2. advance -------------------------------------------------------------------------
    def advance(self, run_id: str) -> dict:
        """Move a run as far as it can go now; returns its status. One process at a time per run."""
        if not self._lease(run_id):
            return self.run_status(run_id)
        try:
            with self.engine.connect() as conn:
                metas = [dict(r) for r in self._metas(conn, run_id)]
            if not metas:
                raise BadInput(f"no TPD run with id {run_id}")
            open_metas = [m for m in metas if m["cqube_process_status"] not in DONE]
            if open_metas:
                with self._client() as client:
                    for meta in open_metas:
                        self._advance_request(client, meta)
            with self.engine.connect() as conn:
                metas = [dict(r) for r in self._metas(conn, run_id)]
            if all(m["cqube_process_status"] in DONE for m in metas) and not any(
                (m.get("summary") or {}).get("aggregated") for m in metas
            ):
                self._finish(run_id, metas)
        finally:
            self._release(run_id)
        return self.run_status(run_id)

    def advance_all(self) -> int:
        """Advance every unfinished run (the scheduler leader's periodic task); returns how many."""
        m = diksha_api_meta
        with self.engine.connect() as conn:
            runs = (
                conn.execute(sa.select(m.c.run_id).where(m.c.cqube_process_status.not_in(DONE)).distinct())
                .scalars()
                .all()
            )
        for run_id in runs:
            try:
                self.advance(run_id)
            except ExhaustError as error:
                log.error("TPD run %s: %s", run_id, error.message)
        return len(runs)

    def _advance_request(self, client: DatasetApiClient, meta: dict) -> None:
        if meta["request_id"] is None:  # the submit itself failed transiently: try it again
            self._resubmit(client, meta)
            return
        tag = meta["tag"]
        try:
            if meta["request_status"] not in ("SUCCESS", "FAILED"):
                found = [j for j in client.list(tag) if j.request_id == meta["request_id"]]
                status = found[0].status if found else meta["request_status"]
                self._update_meta(meta["ff_uuid"], request_status=status, error=None)
                meta["request_status"] = status
                if status not in ("SUCCESS", "FAILED"):
                    return
            job = client.read(tag, meta["request_id"])
        except RemoteServiceError as error:
            self._update_meta(meta["ff_uuid"], error=error.message,
                              **({} if error.transient else {"cqube_process_status": FAILURE}))  # fmt: skip
            return
        if job is None:
            self._update_meta(meta["ff_uuid"], cqube_process_status=FAILURE,
                              error="the dataset API no longer knows this request")  # fmt: skip
            return
        self._plan_files(meta, job)
        self._update_meta(meta["ff_uuid"], cqube_process_status=IN_PROGRESS,
                          error=job.status_message or None if job.status == "FAILED" else None)  # fmt: skip
        self._process_files(client, meta, job)

    def _resubmit(self, client: DatasetApiClient, meta: dict) -> None:
        config_extra = {"profile": self.settings.tpd_profile} if self.settings.tpd_profile else {}
        try:
            job = client.submit(tag=meta["tag"], dataset=DATASET,
                                dataset_config={"batchFilter": meta["batch_id"], **config_extra},
                                encryption_key=self.key)  # fmt: skip
        except RemoteServiceError as error:
            self._update_meta(meta["ff_uuid"], error=error.message,
                              **({} if error.transient else {"cqube_process_status": FAILURE}))  # fmt: skip
            return
        self._update_meta(meta["ff_uuid"], request_id=job.request_id, request_status=job.status, error=None)

    def _plan_files(self, meta: dict, job: RemoteJob) -> None:
        """One file row per requested batch: PENDING when the API has a link for it, else NO_FILE."""
        requested = list(meta["batch_id"] or [])
        linked = {batch_of(url, requested) for url in job.download_urls}
        now = utcnow()
        with self.engine.begin() as conn:
            known = set(
                conn.execute(
                    sa.select(diksha_api_file.c.batch_id).where(diksha_api_file.c.ff_uuid == meta["ff_uuid"])
                ).scalars()
            )
            for batch_id in sorted(set(requested) | linked):
                if batch_id in known:
                    continue
                has_file = batch_id in linked
                conn.execute(
                    sa.insert(diksha_api_file).values(
                        ff_uuid=meta["ff_uuid"],
                        batch_id=batch_id,
                        status=PENDING if has_file else NO_FILE,
                        attempts=0,
                        updated_on=now,
                        error=None if has_file else "the dataset API made no file for this batch",
                    )
                )
            conn.execute(
                sa.update(diksha_api_meta)
                .where(diksha_api_meta.c.ff_uuid == meta["ff_uuid"])
                .values(total_files=len(job.download_urls), updated_on=now)
            )

    def _process_files(self, client: DatasetApiClient, meta: dict, job: RemoteJob) -> None:
        requested = list(meta["batch_id"] or [])
        links = {batch_of(url, requested): url for url in job.download_urls}
        f = diksha_api_file
        with self.engine.connect() as conn:
            todo = (
                conn.execute(
                    sa.select(f)
                    .where(f.c.ff_uuid == meta["ff_uuid"], f.c.status.in_(FILE_OPEN))
                    .order_by(f.c.batch_id)
                )
                .mappings()
                .all()
            )
        for row in todo:
            batch_id = row["batch_id"]
            url = links.get(batch_id)
            if url is None:
                self._file_outcome(
                    meta, batch_id, status=NO_FILE, error="the dataset API made no file for this batch"
                )
                continue
            try:
                outcome = self._one_file(client, meta, batch_id, url)
            except LinkExpired:
                refreshed = client.read(meta["tag"], meta["request_id"])
                fresh = {batch_of(u, requested): u for u in (refreshed.download_urls if refreshed else ())}
                try:
                    outcome = self._one_file(client, meta, batch_id, fresh.get(batch_id, url))
                except RemoteServiceError as error:
                    outcome = self._retry_or_fail(row, error)
            except RemoteServiceError as error:
                outcome = (
                    self._retry_or_fail(row, error)
                    if error.transient
                    else {"status": FAILED, "error": error.message}
                )
            except SourceDataError as error:  # not a zip, wrong key, not a progress exhaust
                outcome = {"status": FAILED, "error": error.message}
            self._file_outcome(meta, batch_id, **outcome)
        self._close_request(meta)

    def _retry_or_fail(self, row: Any, error: RemoteServiceError) -> dict:
        attempts = int(row["attempts"] or 0) + 1
        if attempts >= MAX_FILE_ATTEMPTS or not error.transient:
            return {
                "status": FAILED,
                "error": f"{error.message} (gave up after {attempts} attempts)",
                "attempts": attempts,
            }
        return {"status": RETRY, "error": f"{error.message} (will be retried)", "attempts": attempts}

    def _one_file(self, client: DatasetApiClient, meta: dict, batch_id: str, url: str) -> dict:
        stamp = datetime.now(ZoneInfo(self.settings.timezone)).strftime("%Y%m%d%H%M%S%f")[:16]
        name = f"diksha_tpd_api_{batch_id}_{stamp}.csv"
        with tempfile.TemporaryDirectory(prefix="exhaust-tpd-") as tmp:
            work = Path(tmp)
            zip_path = work / "report.zip"
            client.download(url, zip_path)
            csv_path = open_report_zip(zip_path, self.key, work)
            zip_path.unlink()
            layout = layout_of(header_of(csv_path))
            normalised = work / name
            with pacsv.CSVWriter(normalised, TPD_SCHEMA) as writer:
                for batch in read_normalised(csv_path):
                    writer.write_batch(batch)
            csv_path.unlink()
            errors_local = work / f"{Path(name).stem}_errors.csv"
            error_key = self._key(f"tpd_errors/{meta['run_id']}/{errors_local.name}")
            result = ingest_csv(self.engine, "diksha_tpd", normalised, filename=name, error_path=errors_local,
                                error_file=error_key)  # fmt: skip
            if errors_local.exists():
                self.storage.publish(errors_local, error_key)
        counts = result.counts
        return {
            "status": INGESTED if result.status == OK else REJECTED,
            "file_name": name, "layout": layout, "log_ff_uuid": result.ff_uuid,
            "processed_records": counts.processed_records if result.status == OK else 0,
            "total_records": counts.total_records, "error_file": result.error_file,
            "error": result.reason,
        }  # fmt: skip

    def _key(self, key: str) -> str:
        prefix = self.settings.tpd_output_prefix.strip("/")
        return f"{prefix}/{key}" if prefix else key

    def _file_outcome(self, meta: dict, batch_id: str, **values: Any) -> None:
        f, m = diksha_api_file, diksha_api_meta
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(f).where(f.c.ff_uuid == meta["ff_uuid"], f.c.batch_id == batch_id)
                .values(updated_on=utcnow(), **values)
            )  # fmt: skip
            if values.get("status") in (INGESTED, REJECTED):
                conn.execute(
                    sa.update(m).where(m.c.ff_uuid == meta["ff_uuid"]).values(
                        files_processed=m.c.files_processed + 1,
                        files_emitted=m.c.files_emitted + (1 if values["status"] == INGESTED else 0),
                    )
                )  # fmt: skip
        log.info("TPD batch %s: %s%s", batch_id, values.get("status"),
                 f" ({values['error']})" if values.get("error") else "")  # fmt: skip

    def _close_request(self, meta: dict) -> None:
        f = diksha_api_file
        with self.engine.connect() as conn:
            statuses = (
                conn.execute(sa.select(f.c.status).where(f.c.ff_uuid == meta["ff_uuid"])).scalars().all()
            )
        if any(s in FILE_OPEN for s in statuses):
            return
        ingested = sum(s == INGESTED for s in statuses)
        if ingested and ingested == len(statuses) and meta["request_status"] == "SUCCESS":
            final = SUCCESS
        elif ingested:
            final = PARTIAL
        else:
            final = FAILURE
        self._update_meta(meta["ff_uuid"], cqube_process_status=final)

    # ---- 3. finish --------------------------------------------------------------------------
    def _finish(self, run_id: str, metas: list[dict]) -> None:
        """Rebuild the aggregates and publish the JSON once every request of the run has an outcome."""
        summary: dict[str, Any] = {"aggregated": True}
        if any(m["files_emitted"] for m in metas):
            counts = aggregate.rebuild(self.engine, self.settings.timezone, self.settings.tpd_cqube_compat)
            keys = reports.publish_reports(
                self.engine, self.storage, self.settings.tpd_output_prefix, self.settings.tpd_cqube_compat,
                self.settings.timezone,
            )  # fmt: skip
            summary.update(counts, report_files=len(keys))
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(diksha_api_meta).where(diksha_api_meta.c.run_id == run_id).values(summary=summary)
            )
        log.info("TPD run %s finished: %s", run_id, summary)

    # ---- status -----------------------------------------------------------------------------
    def _metas(self, conn: sa.Connection, run_id: str) -> list[Any]:
        m = diksha_api_meta
        return list(conn.execute(sa.select(m).where(m.c.run_id == run_id).order_by(m.c.tag)).mappings())

    def run_status(self, run_id: str) -> dict:
        f = diksha_api_file
        with self.engine.connect() as conn:
            metas = self._metas(conn, run_id)
            if not metas:
                raise BadInput(f"no TPD run with id {run_id}")
            requests = []
            for meta in metas:
                files = (
                    conn.execute(sa.select(f).where(f.c.ff_uuid == meta["ff_uuid"]).order_by(f.c.batch_id))
                    .mappings()
                    .all()
                )
                requests.append(
                    {
                        "requestId": meta["request_id"],
                        "tag": meta["tag"],
                        "batches": meta["batch_id"],
                        "requestStatus": meta["request_status"],
                        "processStatus": meta["cqube_process_status"],
                        "totalFiles": meta["total_files"],
                        "filesProcessed": meta["files_processed"],
                        "filesEmitted": meta["files_emitted"],
                        "error": meta["error"],
                        "requestedOn": meta["requested_on"].isoformat(),
                        "files": [
                            {
                                "batchId": x["batch_id"],
                                "status": x["status"],
                                "file": x["file_name"],
                                "layout": x["layout"],
                                "totalRecords": x["total_records"],
                                "processedRecords": x["processed_records"],
                                "errorFile": x["error_file"],
                                "attempts": x["attempts"],
                                "error": x["error"],
                            }
                            for x in files
                        ],
                    }
                )
        statuses = {r["processStatus"] for r in requests}
        if statuses <= {SUCCESS}:
            overall = SUCCESS
        elif not statuses <= set(DONE):
            overall = IN_PROGRESS
        elif statuses == {FAILURE}:
            overall = FAILURE
        else:
            overall = PARTIAL
        summary = next((m["summary"] for m in metas if m["summary"]), None) or {}
        return {"runId": run_id, "status": overall, "aggregated": bool(summary.get("aggregated")),
                "summary": summary, "requests": requests}  # fmt: skip

    def recent(self, limit: int = 5) -> list[dict]:
        m = diksha_api_meta
        query = (
            sa.select(m.c.run_id, sa.func.max(m.c.requested_on).label("at"))
            .group_by(m.c.run_id).order_by(sa.desc("at")).limit(limit)
        )  # fmt: skip
        with self.engine.connect() as conn:
            runs = [r.run_id for r in conn.execute(query)]
        return [self.run_status(r) for r in runs]

    def run(self, *, wait_seconds: float, poll_seconds: float, force: bool = False,
            on_poll: Callable[[dict], None] | None = None) -> dict:  # fmt: skip
        """Start (or reuse today's) run and advance it until it ends or `wait_seconds` pass."""
        run_id = self.start(force=force)
        deadline = time.monotonic() + wait_seconds
        while True:
            status = self.advance(run_id)
            if on_poll is not None:
                on_poll(status)
            if status["aggregated"] or time.monotonic() >= deadline:
                return status
            time.sleep(poll_seconds)

    # ---- plumbing ---------------------------------------------------------------------------
    def _update_meta(self, ff_uuid: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(diksha_api_meta).where(diksha_api_meta.c.ff_uuid == ff_uuid)
                .values(updated_on=utcnow(), **values)
            )  # fmt: skip

    def _lease(self, run_id: str) -> bool:
        m, now = diksha_api_meta, utcnow()
        with self.engine.begin() as conn:
            # the run's rows stay locked until this transaction ends (SQLite: the write lock does it)
            conn.execute(sa.select(m.c.ff_uuid).where(m.c.run_id == run_id).with_for_update()).all()
            held = conn.execute(
                sa.select(sa.func.count()).select_from(m).where(
                    m.c.run_id == run_id, m.c.lease_owner.is_not(None), m.c.lease_owner != self.owner,
                    m.c.lease_expires_at > now,
                )
            ).scalar_one()  # fmt: skip
            if held:
                return False
            conn.execute(
                sa.update(m).where(m.c.run_id == run_id)
                .values(lease_owner=self.owner, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
            )  # fmt: skip
        return True

    def _release(self, run_id: str) -> None:
        m = diksha_api_meta
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(m).where(m.c.run_id == run_id, m.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_expires_at=None)
            )  # fmt: skip


__all__ = ["TPD_COLUMNS", "TpdFeed", "batch_of", "emitted_batch_ids"]
