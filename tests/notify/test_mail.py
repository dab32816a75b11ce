"""Job mails received by a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from exhaust.notify.mail import Attachment, JobOutcome, Link, compose, send
from exhaust.settings import Settings


def settings_for(port: int, **extra) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="reports@exhaust.test", **extra)


EXPIRES = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def test_success_mail_has_recipient_link_and_attachment(smtp) -> None:
    inbox, port = smtp
    outcome = JobOutcome("ABC123", "progress-exhaust", ["batch-1"], "SUCCESS")
    link = Link(
        "http://127.0.0.1:8000/download/progress-exhaust/ABC123/batch-1_progress_20261128.zip?sig=x", EXPIRES
    )
    message = compose(
        outcome, "mentor@school.in", settings_for(port), [link], [Attachment("b.zip", b"PK\x03\x04zip")]
    )
    assert send(message, settings_for(port))
    [(recipients, received)] = inbox.messages
    assert recipients == ["mentor@school.in"]
    assert received["Subject"] == "Your Progress exhaust for batch batch-1 is ready"
    body = received.get_payload()[0].get_payload(decode=True).decode()
    assert link.url in body and "2026-11-28 12:30 UTC" in body
    attachment = received.get_payload()[1]
    assert attachment.get_filename() == "b.zip" and attachment.get_payload(decode=True) == b"PK\x03\x04zip"


def test_failure_mail_gives_the_reason_in_plain_words(smtp) -> None:
    inbox, port = smtp
    outcome = JobOutcome("DEF", "userinfo-exhaust", ["batch-2"], "FAILED", error="batch batch-2 not found")
    assert send(compose(outcome, "admin@org.in", settings_for(port)), settings_for(port))
    [(_, received)] = inbox.messages
    assert "could not be built" in received["Subject"]
    assert "Reason: batch batch-2 not found" in received.get_payload()
    assert not received.is_multipart()


def test_every_mail_has_a_date_and_a_message_id(smtp) -> None:
    inbox, port = smtp
    outcome = JobOutcome("ABC123", "progress-exhaust", ["batch-1"], "SUCCESS", protected=True)
    assert send(compose(outcome, "m@school.in", settings_for(port), [Link("https://x/files/ABC123/1")]),
                settings_for(port))  # fmt: skip
    [(_, received)] = inbox.messages
    from email.utils import parsedate_to_datetime

    assert abs((parsedate_to_datetime(received["Date"]) - datetime.now(UTC)).total_seconds()) < 60
    assert received["Message-ID"].startswith("<") and received["Message-ID"].endswith("@exhaust.test>")
    body = received.get_payload(decode=True).decode()
    assert "open it with the password you chose when you asked for the report" in body
    assert "does not expire" in body


def test_unreachable_server_is_retried_then_given_up_without_raising() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    waits: list[float] = []
    settings = settings_for(port, mail_retries=3, smtp_timeout=1)
    message = compose(JobOutcome("X", "progress-exhaust", ["b"], "SUCCESS"), "a@b.c", settings)
    assert send(message, settings, sleep=waits.append) is False
    assert waits == [1, 2]


def test_mail_warnings_name_the_job(caplog) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(port, mail_retries=2, smtp_timeout=1)
    message = compose(JobOutcome("REQ42", "progress-exhaust", ["b"], "SUCCESS"), "a@b.c", settings)
    assert send(message, settings, sleep=lambda _: None, job="REQ42") is False
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 3 and all(w.startswith("job REQ42: mail") for w in warnings)


def test_no_smtp_server_configured_means_no_mail() -> None:
    settings = Settings(smtp_host="")
    assert (
        send(compose(JobOutcome("X", "progress-exhaust", ["b"], "SUCCESS"), "a@b.c", settings), settings)
        is False
    )


def test_recipient_from_dataset_config_or_the_user_store(tmp_path) -> None:
    from exhaust.notify.recipients import recipient_for
    from exhaust.pii import encrypt
    from exhaust.sources.open import open_source
    from tests.builders import write_source

    folder = write_source(
        tmp_path / "src",
        users=[
            {"userid": "m1", "email": encrypt("mentor@school.in", "salt")},
            {"userid": "m2", "email": "not-an-address"},
        ],
    )
    source = open_source(str(folder))
    assert recipient_for({"datasetConfig": {"email": "ops@org.in"}}, "m1", source, "salt") == "ops@org.in"
    assert recipient_for({"batchId": "b"}, "m1", source, "salt") == "mentor@school.in"
    assert recipient_for({}, "m2", source, "salt") is None
    assert recipient_for({}, "nobody", source, "salt") is None
