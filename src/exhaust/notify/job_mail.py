"""The workers' end-of-job hook: mail the requester their links (and small files), or the reason it failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath

from exhaust.jobs.store import Job, JobStore
from exhaust.jobs.views import stable_file_url
from exhaust.notify.mail import Attachment, JobOutcome, Link, compose, send
from exhaust.notify.recipients import recipient_for
from exhaust.outputs.signing import UrlSigner, object_key
from exhaust.outputs.storage import Storage
from exhaust.settings import Settings
from exhaust.sources.base import Source

log = logging.getLogger(__name__)


def outcome_of(job: Job) -> JobOutcome:
    data = job.request_data or {}
    batches = [data["batchId"]] if data.get("batchId") else list(data.get("batchFilter") or [])
    if not batches:
        batches = [b.get("batchId") for b in job.processed_batches if b.get("batchId")]
    protected = any(entry.get("passwordProtected") for entry in job.processed_batches)
    return JobOutcome(
        job.request_id, job.job_id, batches, job.status, job.err_message, protected=protected,
        tag=job.client_tag,
    )  # fmt: skip


class JobMailer:
    """Sends one mail per ended job; every failure is logged and swallowed (the job's outcome stands)."""

    def __init__(
        self, settings: Settings, storage: Storage, signer: UrlSigner, source: Callable[[], Source] | None
    ) -> None:
        self.settings, self.storage, self.signer, self._source = settings, storage, signer, source

    def __call__(self, job: Job) -> None:
        if not self.settings.smtp_host:
            return
        source = self._source() if self._source is not None else None
        recipient = recipient_for(
            job.request_data, job.requested_by, source, self.settings.sunbird_encryption_key
        )
        if recipient is None:
            log.info("job %s: no address to mail the requester at", job.request_id)
            return
        links, attachments = [], []
        if job.status == "SUCCESS":
            budget = self.settings.mail_attach_max_bytes
            base = self.settings.download_base_url
            if not base:
                log.warning("job %s: EXHAUST_DOWNLOAD_BASE_URL is unset, so the mail carries no link",
                            job.request_id)  # fmt: skip
            for index, stored in enumerate(job.download_urls, start=1):
                if base:
                    links.append(Link(stable_file_url(base, job.request_id, index)))
                key = object_key(stored)
                size = self.storage.size(key)
                if size <= budget:
                    attachments.append(Attachment(PurePosixPath(key).name, self.storage.read_bytes(key)))
                    budget -= size
        message = compose(outcome_of(job), recipient, self.settings, links, attachments)
        if send(message, self.settings, job=job.request_id):
            log.info("job %s: requester mailed", job.request_id)


def job_mailer(settings: Settings, store: JobStore, storage: Storage) -> JobMailer | None:
    """The hook the worker command installs (None when no SMTP server is configured)."""
    if not settings.smtp_host:
        return None
    from exhaust.jobs.service import open_signer
    from exhaust.sources.open import open_source

    return JobMailer(
        settings, storage, open_signer(settings, storage), lambda: open_source(settings.source_spec())
    )
