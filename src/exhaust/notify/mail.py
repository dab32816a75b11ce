"""Compose and send the mail a requester gets when a job ends.

A finished job's mail names the report and batch and carries a stable link per file, and the file itself
when it is small; a failed job's mail gives the reason in plain words. The stable link does not expire: it
leads to the API's `/files/...` endpoint, which checks the caller's token and hands out a freshly signed
download each time, so a mentor who reads the mail days later still gets the file. A protected file's
mail says it needs the password chosen at request time (never the password itself). Delivery is retried with
back-off and never fails the job: a mail that cannot be sent is logged (without addresses) and dropped.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from exhaust.reports import registry
from exhaust.settings import Settings

log = logging.getLogger(__name__)

#: dataset -> how a mail names it (from the dataset registry).
TITLES = {d.name: d.title for d in registry.DATASETS.values()}


@dataclass(frozen=True)
class Link:
    """A signed download link and when it stops working."""

    url: str
    expires_at: datetime | None = None  # None: a stable link that signs a fresh URL on each visit


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes


@dataclass(frozen=True)
class JobOutcome:
    """What the mail says about one job: enough to write it without the job store."""

    request_id: str
    dataset: str
    batches: Sequence[str]
    status: str  # SUCCESS or FAILED
    error: str | None = None
    protected: bool = False  # the file opens only with the password chosen at request time
    tag: str = ""


def compose(
    outcome: JobOutcome,
    recipient: str,
    settings: Settings,
    links: Sequence[Link] = (),
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """The mail for one finished or failed job."""
    title = TITLES.get(outcome.dataset, outcome.dataset)
    batches = ", ".join(outcome.batches) or "the requested batches"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=outcome.request_id[:16] or None, domain=domain)
    if outcome.status == "SUCCESS":
        message["Subject"] = f"Your {title} for batch {batches} is ready"
        lines = [f"Your {title} for batch {batches} is ready (request {outcome.request_id}).", ""]
        for link in links:
            lines.append(f"Download: {link.url}")
            if link.expires_at is None:
                lines.append(
                    "This link does not expire: it asks for your API token and starts a fresh download."
                )
            else:
                lines.append(f"This link works until {_when(link.expires_at)}.")
            lines.append("")
        if not links:
            lines += [
                f"Read request {outcome.request_id}"
                + (f" (tag {outcome.tag})" if outcome.tag else "")
                + " through the API for a download link.",
                "",
            ]
        if attachments:
            lines.append("The file is attached as well.")
        elif links:
            lines.append("The file is too large to attach: please use the link.")
        if outcome.protected or outcome.dataset in registry.PERSONAL:
            lines.append(
                "The file is protected: open it with the password you chose when you asked for the report."
            )
    else:
        message["Subject"] = f"Your {title} for batch {batches} could not be built"
        reason = outcome.error or "an unexpected error"
        lines = [
            f"We could not build your {title} for batch {batches} (request {outcome.request_id}).",
            "",
            f"Reason: {reason}",
            "",
            "You can ask for the report again; a failed request is retried from the start.",
        ]
    message.set_content("\n".join(lines) + "\n")
    for attachment in attachments:
        maintype, subtype = (
            ("application", "zip") if attachment.filename.endswith(".zip") else ("text", "csv")
        )
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def send(message: EmailMessage, settings: Settings, *, sleep=time.sleep, job: str = "") -> bool:
    """Deliver `message`, retrying with back-off; True when the server accepted it. Never raises.

    `job` (a request id) is named in the log lines, so an operator knows whose mail was lost."""
    about = f"job {job}: " if job else ""
    if not settings.smtp_host:
        log.info("%smail not sent: no SMTP server configured", about)
        return False
    for attempt in range(1, settings.mail_retries + 1):
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
                smtp.send_message(message)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            log.warning(
                "%smail attempt %d of %d failed: %s",
                about,
                attempt,
                settings.mail_retries,
                type(exc).__name__,
            )
            if attempt < settings.mail_retries:
                sleep(min(2 ** (attempt - 1), 30))
    log.warning("%smail not delivered after %d attempts", about, settings.mail_retries)
    return False
