"""The worker (SPEC §4.2): claim a due job, build each of its batches, zip, publish, record the outcome.

Outcomes (the taxonomy of `exhaust.errors`): every batch built → SUCCESS with one link per batch. A
terminal error (unknown batches, retired collection, missing hierarchy, bad request or data) → FAILED at
once with its message: running again would not help. A transient error (a source, the store or storage
down or slow) and any fault of unknown kind → retried after a back-off, at most `max_attempts` attempts
in all, then FAILED. A multi-batch request records each finished batch, so a retry or a takeover after a
crash resumes after it. Requesters see plain reasons (`outcomes.py`); the log keeps the detail.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exhaust.errors import ExhaustError, is_terminal, is_transient
from exhaust.jobs import workdir
from exhaust.jobs.batches import PlannedBatch, plan_batches
from exhaust.jobs.datasets import KEY_REQUIRED, REPORT_KEYS, check_request
from exhaust.jobs.lifecycle import Lease, LeaseLost
from exhaust.jobs.outcomes import requester_reason
from exhaust.jobs.store import FAILED, SUCCESS, SYSTEM_CHANNEL, Job, JobStore, today
from exhaust.jobs.wakeup import Wakeup
from exhaust.outputs.security import SecurityLevel, secure_zip
from exhaust.outputs.storage import Storage
from exhaust.sources.base import Source

log = logging.getLogger("exhaust.jobs")
Builder = Callable[..., Any]


def default_builder() -> Builder:
    """The report builder (imported late: the jobs layer must start even if a report module is broken)."""
    from exhaust.reports.build import build_report

    return build_report


def zip_password(job: Job, salt: str) -> str | None:
    """The zip password of a request: its encryption key, Sunbird-decrypted when it is encrypted."""
    if not job.encryption_key:
        return None
    try:
        from exhaust.pii import decrypt
    except ImportError:  # pragma: no cover - the pii module ships with the package
        return job.encryption_key
    return decrypt(job.encryption_key, salt) or job.encryption_key


class SourceCache:
    """Reuses an opened source for a while: opening per job would re-read the same tables each time."""

    def __init__(self, opener: Callable[[], Source], max_age: float) -> None:
        self._opener = opener
        self._max_age = max_age
        self._lock = threading.Lock()
        self._source: Source | None = None
        self._opened = 0.0

    def get(self) -> Source:
        with self._lock:
            if self._source is None or time.monotonic() - self._opened > self._max_age:
                self._source = self._opener()
                self._opened = time.monotonic()
            return self._source


@dataclass
class Attempt:
    """What one attempt has done so far (kept when it fails, for the retry to resume from)."""

    job: Job
    lease: Lease
    started: float = field(default_factory=time.monotonic)
    processed: list[dict] = field(default_factory=list)

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


class Worker:
    """Processes jobs from a store; run several (threads, processes, machines) against one database."""

    def __init__(
        self,
        store: JobStore,
        storage: Storage,
        settings: Any,
        *,
        source: Callable[[], Source] | None = None,
        builder: Builder | None = None,
        name: str | None = None,
        on_end: Callable[[Job], None] | None = None,
    ) -> None:
        self.store = store
        self._on_end = on_end  # called once a job is SUCCESS or FAILED for good (the requester's mail)
        self.storage = storage
        self.settings = settings
        injected_source = source is not None
        if source is None:
            from exhaust.sources.open import open_source

            spec = settings.source_spec()
            source = SourceCache(lambda: open_source(spec), settings.source_cache_seconds).get
        self._source = source
        self._builder = builder
        # The default builder runs in a process of its own (lower CPU priority, no GIL shared with the
        # lease renewals); an injected source or builder runs in this process.
        self._in_process = (
            builder is None and not injected_source and bool(getattr(settings, "build_process", False))
        )
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._reaped_at = 0.0
        self.errors = 0  # claims that failed (database unreachable)
        self._reap_lock = threading.Lock()

    # ---- loop -------------------------------------------------------------------------------
    def run(self, *, once: bool = False, concurrency: int = 1, stop: threading.Event | None = None) -> int:
        """Process jobs until `stop` is set (or, with `once`, until nothing is due); returns jobs handled."""
        stop = stop or threading.Event()
        wakeup = Wakeup(self.store.engine, listen=not once)
        handled = [0] * concurrency
        log.info("worker %s started (%d at a time)", self.name, concurrency)
        self.storage.clean_incoming()
        try:
            workdir.clean(self.settings, self.store)
        except Exception as exc:  # the store may be down at start: the next start cleans up
            log.warning("work folders not cleaned: %s", type(exc).__name__)

        def loop(index: int) -> None:
            handled[index] = self._serve(f"{self.name}/{index}", once=once, stop=stop, wakeup=wakeup)

        threads = [threading.Thread(target=loop, args=(i,), name=f"worker-{i}") for i in range(concurrency)]

        # Setting `stop` must also end the idle waits, not only the next poll.
        def close_on_stop() -> None:
            stop.wait()
            wakeup.close()

        threading.Thread(target=close_on_stop, name="worker-stop", daemon=True).start()
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            wakeup.close()
            stop.set()
        return sum(handled)

    def _serve(self, owner: str, *, once: bool, stop: threading.Event, wakeup: Wakeup) -> int:
        """One worker thread: claim and process jobs until `stop` (or, with `once`, until none is due);
        an unreachable job store is retried with back-off. Returns the jobs handled."""
        handled = 0
        failing = 0  # claims failed in a row (job store unreachable)
        while not stop.is_set():
            try:
                job = self.run_one(owner)
            except Exception as exc:  # database unreachable: back off and try again
                failing += 1
                self.errors += 1
                delay = min(self.settings.poll_seconds * 2**failing, MAX_IDLE_BACKOFF)
                if failing == 1:
                    log.error("worker %s cannot reach the job store (%s); retrying with back-off",
                              owner, type(exc).__name__)  # fmt: skip
                else:
                    log.debug("worker %s: job store still unreachable; next try in %.1f s", owner, delay)
                if once:
                    return handled
                stop.wait(delay)
                continue
            if failing:
                log.warning("worker %s reaches the job store again after %d failed tries", owner, failing)
                failing = 0
            if job is not None:
                handled += 1
                continue
            if once:
                return handled
            wakeup.wait(self.settings.poll_seconds)
        return handled

    def run_one(self, owner: str | None = None) -> Job | None:
        """Claim and process one due job; returns it as it ended (None when nothing was due)."""
        owner = owner or self.name
        self._maybe_reap()
        claimed_at = time.monotonic()
        job = self.store.claim(
            owner, lease_seconds=self.settings.lease_seconds, max_attempts=self.settings.max_attempts
        )
        if job is None:
            return None
        log.info("job %s (%s) claimed by %s, attempt %d", job.request_id, job.job_id, owner, job.attempts)
        self.process(job, owner, claimed_at)
        ended = self.store.get(job.request_id, job.tag)
        if ended is not None and ended.status in (SUCCESS, FAILED) and self._on_end is not None:
            try:
                self._on_end(ended)
            except Exception as exc:  # a notification never changes the job's outcome
                log.error("job %s: end-of-job notification failed: %s", job.request_id, type(exc).__name__)
        return ended

    def _maybe_reap(self) -> None:
        with self._reap_lock:
            if time.monotonic() - self._reaped_at < max(1.0, self.settings.lease_seconds / 2):
                return
            self._reaped_at = time.monotonic()
        reaped = self.store.reap(self.settings.max_attempts)
        if reaped:
            log.warning("%d job(s) failed after their last attempt's worker stopped", reaped)

    # ---- one job ----------------------------------------------------------------------------
    def process(self, job: Job, owner: str, claimed_at: float | None = None) -> None:
        """Run one claimed job to its outcome (all writes fenced by the lease)."""
        with Lease(self.store, job, owner, self.settings.lease_seconds, claimed_at) as lease:
            attempt = Attempt(job, lease, processed=list(job.processed_batches))
            folder = workdir.attempt_folder(self.settings, job.request_id, job.attempts)
            ok = keep = False
            try:
                failures = self._build_all(attempt, folder)
                lease.stop()
                lease.check()
                status = FAILED if failures else SUCCESS
                message = "; ".join(failures)
                ok = self.store.finish(
                    job, owner, status=status, processed=attempt.processed,
                    execution_ms=attempt.elapsed_ms(), message=message,
                )  # fmt: skip
                log.info("job %s %s in %d ms%s", job.request_id, status, attempt.elapsed_ms(),
                         f": {message}" if message else "")  # fmt: skip
            except LeaseLost:
                self._abandon(job, folder)
                return
            except Exception as exc:
                lease.stop()
                try:
                    lease.check()  # a stalled worker's error is no outcome: the job may be another's now
                except LeaseLost:
                    self._abandon(job, folder)
                    return
                if is_terminal(exc):
                    assert isinstance(exc, ExhaustError)
                    log.info("job %s FAILED: %s", job.request_id, exc.message)
                    ok = self.store.finish(
                        job, owner, status=FAILED, processed=attempt.processed,
                        execution_ms=attempt.elapsed_ms(), message=requester_reason(exc),
                    )  # fmt: skip
                else:
                    if is_transient(exc):
                        log.warning("job %s attempt %d hit a transient fault: %s", job.request_id,
                                    job.attempts, _detail(exc))  # fmt: skip
                    else:
                        log.exception("job %s attempt %d failed", job.request_id, job.attempts)
                    ok = self._retry_or_fail(attempt, owner, exc)
                    keep = ok and job.attempts < self.settings.max_attempts
            if keep:
                workdir.keep_built(folder)  # the retry publishes what this attempt built
            elif ok:
                workdir.remove(folder.parent)  # the request is final: nothing of it is needed
            else:
                workdir.remove(folder)
                log.warning("job %s: outcome not recorded, the lease was lost", job.request_id)

    def _abandon(self, job: Job, folder: Path) -> None:
        log.warning("job %s abandoned: its lease is gone (another worker may own it now)", job.request_id)
        workdir.remove(folder)

    def _retry_or_fail(self, attempt: Attempt, owner: str, exc: Exception) -> bool:
        job, limit = attempt.job, self.settings.max_attempts
        reason = requester_reason(exc)
        if job.attempts < limit:
            delay = self.settings.retry_backoff_seconds * 4 ** (job.attempts - 1)
            return self.store.retry_later(
                job, owner, delay_seconds=delay, processed=attempt.processed,
                message=f"Attempt {job.attempts} of {limit} failed ({reason}); it will be retried.",
            )  # fmt: skip
        return self.store.finish(
            job, owner, status=FAILED, processed=attempt.processed, execution_ms=attempt.elapsed_ms(),
            message=f"The report could not be built after {limit} attempts: {reason}.",
        )  # fmt: skip

    def _build_all(self, attempt: Attempt, folder: Path) -> list[str]:
        """Build every batch not yet finished; returns the messages of batches that could not be built."""
        job, lease = attempt.job, attempt.lease
        selector = check_request(job.job_id, job.request_data, job.encryption_key)
        lease.update(1, "finding batches")
        source = self._source()
        plan = plan_batches(source, selector, job.job_id)
        done = {entry.get("batchId"): entry for entry in attempt.processed}
        attempt.processed = [done[p.batch_id] for p in plan if p.batch_id in done]
        todo = [p for p in plan if p.batch_id not in done]
        failures: list[str] = []
        password = zip_password(job, self.settings.sunbird_encryption_key)
        if todo:
            self.storage.check_writable()  # a read-only or full store fails before any build
        for index, planned in enumerate(todo):
            lease.check()
            share = 100 / len(plan)
            base = share * (len(attempt.processed) + len(failures))
            try:
                entry = self._build_one(job, planned, source, folder, password, lease, base, share)
            except Exception as error:
                if not is_terminal(error):
                    raise  # transient or unknown: the whole attempt is retried
                reason = requester_reason(error)
                log.info("job %s batch %s failed: %s", job.request_id, planned.batch_id, _detail(error))
                failures.append(reason if len(plan) == 1 else f"{planned.batch_id}: {reason}")
                continue
            attempt.processed.append(entry)
            if index < len(todo) - 1 and not self.store.record_batches(job, lease.owner, attempt.processed):
                lease.lost()
                raise LeaseLost(job.request_id)
        order = {p.batch_id: i for i, p in enumerate(plan)}
        attempt.processed.sort(key=lambda entry: order.get(str(entry.get("batchId")), len(order)))
        return failures

    def _build_one(
        self,
        job: Job,
        planned: PlannedBatch,
        source: Source,
        tmp: Path,
        password: str | None,
        lease: Lease,
        base: float,
        share: float,
    ) -> dict:
        """Build, zip and publish one batch; returns its `processed_batches` entry."""
        if planned.error:
            raise ExhaustError(planned.error)
        batch_id = planned.batch_id
        name = f"{batch_id}_{REPORT_KEYS[job.job_id]}_{today(self.settings.timezone).strftime('%Y%m%d')}"
        csv_path, zip_path = tmp / f"{name}.csv", tmp / f"{name}.zip"
        note = tmp / f"{name}.json"  # rows and build time of a zip kept for a retry
        built = _read_note(note) if workdir.take_kept(tmp, name) else None
        if built is None:
            lease.update(base + share * 0.05, f"building {batch_id}")
            channel = None if job.requested_channel in ("", SYSTEM_CHANNEL) else job.requested_channel
            started = time.monotonic()
            profile = job.request_data.get("profile")
            rows = self._build(source, job.job_id, batch_id, csv_path, channel, profile, lease)
            build_ms = int((time.monotonic() - started) * 1000)
            lease.check()
            lease.update(base + share * 0.8, f"zipping {batch_id}")
            partial = tmp / f"{name}.zip.part"
            level = secure_zip(
                csv_path, partial, settings=self.settings, channel=job.requested_channel, dataset=job.job_id,
                password=password, personal=job.job_id in KEY_REQUIRED,
            )  # fmt: skip
            os.replace(partial, zip_path)
            csv_path.unlink(missing_ok=True)
            protected = bool(password) and level in (
                SecurityLevel.PASSWORD_PROTECTED_DATASET,
                SecurityLevel.TEXT_KEY_ENCRYPTED_DATASET,
            )
            note.write_text(json.dumps({"rows": rows, "buildMs": build_ms, "protected": protected}))
        else:
            rows, build_ms, protected = built
            log.info("job %s: reusing the zip of %s built by an earlier attempt", job.request_id, batch_id)
        lease.update(base + share * 0.9, f"uploading {batch_id}")
        lease.renew_now()  # fencing: publish only with a whole lease ahead
        key = f"{job.job_id}/{job.request_id}/{name}.zip"
        size = self.storage.publish(zip_path, key)
        zip_path.unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        return {
            "channel": job.requested_channel,
            "batchId": batch_id,
            "filePath": key,
            "fileSize": size,
            "rows": rows,
            "buildMs": build_ms,
            "passwordProtected": protected,
        }

    def _build(self, source: Source, dataset: str, batch_id: str, output: Path, channel: str | None,
               profile: str | None, lease: Lease) -> int:  # fmt: skip
        """Build the CSV; returns its row count."""
        if self._in_process:
            from exhaust.jobs.build_process import build_in_process

            built = build_in_process(
                self.settings, dataset, batch_id, output, channel=channel, profile=profile, check=lease.check
            )
            return built.rows
        builder = self._builder or default_builder()
        kwargs: dict[str, Any] = {"requested_channel": channel, "profile": profile}
        if "settings" in inspect.signature(builder).parameters:
            kwargs["settings"] = self.settings
        result = builder(source, dataset, batch_id, output, **kwargs)
        return int(getattr(result, "rows", 0) or 0)


MAX_IDLE_BACKOFF = 30.0  # seconds between claims while the job store is unreachable


def _detail(exc: BaseException) -> str:
    """The log's one-line account of an error (never shown to requesters)."""
    return f"{type(exc).__name__}: {exc}"


def _read_note(note: Path) -> tuple[int, int, bool] | None:
    try:
        data = json.loads(note.read_text())
        return int(data["rows"]), int(data["buildMs"]), bool(data.get("protected"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
