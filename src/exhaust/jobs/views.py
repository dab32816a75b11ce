"""A job as clients see it: Sunbird's JobResponse fields (camelCase, epoch milliseconds), links signed now.

`encryption_key` is never part of it. Links are signed on every read, so they always have the full
lifetime, and only SUCCESS or FAILED jobs carry them (a FAILED multi-batch job keeps its finished files).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from exhaust.jobs.job import FAILED, SUCCESS, Job
from exhaust.jobs.text import repaired_value

if TYPE_CHECKING:
    from exhaust.outputs.signing import UrlSigner


def epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def job_response(job: Job, signer: UrlSigner, now: float | None = None) -> dict[str, Any]:
    """The JSON object of one job (what `exhaust status` prints and the API returns)."""
    now = time.time() if now is None else now
    finished = job.status in (SUCCESS, FAILED)
    urls = [signer.sign(url, now).url for url in job.download_urls] if finished else []
    # A row stored before text was checked may hold lone surrogates: shown as U+FFFD, never a crash.
    return repaired_value(
        {
            "requestId": job.request_id,
            "tag": job.tag,
            "dataset": job.job_id,
            "requestedBy": job.requested_by,
            "requestedChannel": job.requested_channel,
            "status": job.status,
            "lastUpdated": epoch_ms(job.dt_job_completed or job.dt_job_submitted),
            "datasetConfig": job.request_data,
            "attempts": job.attempts,  # runs started; `iteration` keeps Sunbird's failed-run count
            "jobStats": {
                "dtJobSubmitted": epoch_ms(job.dt_job_submitted),
                "dtJobCompleted": epoch_ms(job.dt_job_completed) if finished else None,
                "executionTime": job.execution_time if finished else None,
            },
            "downloadUrls": urls,
            "expiresAt": signer.expires_at(now) * 1000,
            "statusMessage": job.err_message or "",
            "progress": 100 if job.status == SUCCESS else (job.progress or 0),
            "phase": job.phase or ("queued" if job.status == "SUBMITTED" else ""),
        }
    )


#: The API path of a job's n-th file (1-based): it checks the caller and redirects to a fresh signed URL.
FILE_PATH = "/files/{request_id}/{index}"


def stable_file_url(base_url: str, request_id: str, index: int) -> str:
    """The link that never expires (mails carry it): the API signs a fresh download on each visit."""
    return base_url.rstrip("/") + FILE_PATH.format(request_id=request_id, index=index)
