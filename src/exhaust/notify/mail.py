"""Compose and send the mail a requester gets when a job ends.

A finished job's mail names the report and batch and carries a signed link with its expiry, and the file
itself when it is small; a failed job's mail gives the reason in plain words. Delivery is retried with
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

from exhaust.reports import registry
from exhaust.settings import Settings

log = logging.getLogger(__name__)

#: dataset -> how a mail names it (from the dataset registry).
TITLES = {d.name: d.title for d in registry.DATASETS.values()}


@dataclass(frozen=True)
class Link:
    """A signed download link and when it stops working."""

    url: str
    expires_at: datetime


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
    if outcome.status == "SUCCESS":
        message["Subject"] = f"Your {title} for batch {batches} is ready"
        lines = [f"Your {title} for batch {batches} is ready (request {outcome.request_id}).", ""]
        for link in links:
            lines += [f"Download: {link.url}", f"This link works until {_when(link.expires_at)}.", ""]
        if attachments:
            lines.append("The file is attached as well.")
        else:
            lines.append("The file is too large to attach: please use the link.")
        if outcome.dataset in registry.PERSONAL:
            lines.append("The zip is protected with the password you chose when you asked for the report.")
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


def send(message: EmailMessage, settings: Settings, *, sleep=time.sleep) -> bool:
    """Deliver `message`, retrying with back-off; True when the server accepted it. Never raises."""
    if not settings.smtp_host:
        log.info("mail not sent: no SMTP server configured")
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
                "mail attempt %d of %d failed: %s", attempt, settings.mail_retries, type(exc).__name__
            )
            if attempt < settings.mail_retries:
                sleep(min(2 ** (attempt - 1), 30))
    return False
