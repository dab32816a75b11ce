"""A finished job mails its requester: a real worker, the real report builder, a real SMTP server."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from exhaust.jobs.service import open_signer, open_store
from exhaust.jobs.worker import Worker
from exhaust.notify.job_mail import JobMailer
from exhaust.outputs.storage import open_storage
from exhaust.pii import encrypt
from exhaust.sources.open import open_source
from tests.builders import batch, course, enrolment, hierarchy_row, leaf, write_source
from tests.jobs.helpers import make_settings

SALT = "mail-salt"


@pytest.fixture
def setup(tmp_path: Path, smtp):
    inbox, port = smtp
    write_source(
        tmp_path / "source",
        course_batch=[batch("b1", "do_c1")],
        content_hierarchy=[hierarchy_row(course("do_c1", [leaf("l1")], channel="ch-1", userConsent="No"))],
        user_enrolments=[enrolment("learner-1", "do_c1", "b1"), enrolment("learner-2", "do_c1", "b1")],
        users=[{"userid": "mentor-1", "email": encrypt("mentor@school.in", SALT)}],
    )
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", "job_request",
        smtp_host="127.0.0.1", smtp_port=port, sunbird_encryption_key=SALT,
        download_base_url="https://reports.example.org/",
    )  # fmt: skip
    store, storage = open_store(settings), open_storage(settings)
    mailer = JobMailer(
        settings, storage, open_signer(settings, storage), lambda: open_source(settings.source)
    )
    return inbox, settings, store, Worker(store, storage, settings, on_end=mailer)


def test_success_mails_the_requester_a_link_and_the_protected_zip(setup) -> None:
    inbox, _, store, worker = setup
    job, _ = store.submit(
        "userinfo-exhaust", {"batchId": "b1"}, tag="t1", channel="ch-1", requested_by="mentor-1",
        encryption_key="s3cret-key",
    )  # fmt: skip
    assert worker.run(once=True) == 1
    assert store.get(job.request_id, job.tag).status == "FAILED"  # the collection does not ask for consent
    [(recipients, message)] = inbox.messages
    assert recipients == ["mentor@school.in"]
    assert "could not be built" in message["Subject"]
    assert "not applicable for collections" in message.get_payload()

    job, _ = store.submit("progress-exhaust", {"batchId": "b1"}, tag="t2", channel="ch-1", requested_by="mentor-1",
                          encryption_key="s3cret-key")  # fmt: skip
    assert worker.run(once=True) == 1
    ended = store.get(job.request_id, job.tag)
    assert ended.status == "SUCCESS"
    recipients, message = inbox.messages[1]
    assert recipients == ["mentor@school.in"]
    body, attachment = message.get_payload()
    text = body.get_payload(decode=True).decode()
    # A stable link (issue 14): it never expires; the API checks the caller and signs a fresh download.
    assert f"Download: https://reports.example.org/files/{job.request_id}/1\r\n" in text
    assert "signature=" not in text and "does not expire" in text
    assert "open it with the password you chose" in text
    assert message["Date"] and message["Message-ID"].endswith("@localhost>")
    archive = zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True)))
    [name] = archive.namelist()
    assert name.startswith("b1_progress_") and name.endswith(".csv")
    with pytest.raises(RuntimeError):
        archive.read(name)
    assert b"learner-2" in archive.read(name, pwd=b"s3cret-key")
    assert "s3cret-key" not in message.as_string()


def test_dataset_config_email_wins(setup) -> None:
    inbox, _, store, worker = setup
    store.submit("progress-exhaust", {"batchId": "b1", "datasetConfig": {"email": "ops@org.in"}}, tag="t3",
                 channel="ch-1", requested_by="mentor-1")  # fmt: skip
    worker.run(once=True)
    assert [r for r, _ in inbox.messages] == [["ops@org.in"]]


def test_the_encryption_key_never_reaches_a_log_line(setup, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    _, _, store, worker = setup
    key = "Very-Secret-Key-42"
    caplog.set_level(logging.DEBUG)
    store.submit("userinfo-exhaust", {"batchId": "b1"}, tag="t4", channel="ch-1", requested_by="mentor-1",
                 encryption_key=key)  # fmt: skip
    store.submit("progress-exhaust", {"batchId": "b1"}, tag="t5", channel="ch-1", requested_by="mentor-1",
                 encryption_key=key)  # fmt: skip
    assert worker.run(once=True) == 2
    assert caplog.records, "the worker logs its jobs"
    assert all(key not in record.getMessage() for record in caplog.records)
    assert key not in caplog.text


def test_without_a_public_base_url_the_mail_names_the_request_instead_of_a_dead_link(
    setup, caplog: pytest.LogCaptureFixture
) -> None:
    inbox, settings, store, _ = setup
    unset = settings.model_copy(update={"download_base_url": ""})
    storage = open_storage(unset)
    mailer = JobMailer(unset, storage, open_signer(unset, storage), lambda: open_source(unset.source))
    job, _ = store.submit("progress-exhaust", {"batchId": "b1"}, tag="t6", channel="ch-1",
                          requested_by="mentor-1")  # fmt: skip
    assert Worker(store, storage, unset, on_end=mailer).run(once=True) == 1
    [(_, message)] = inbox.messages
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "/download/" not in text and "Download:" not in text
    assert f"Read request {job.request_id} (tag t6) through the API for a download link." in text
    assert "protected" not in text  # no key was given: the zip is not protected
    assert f"job {job.request_id}: EXHAUST_DOWNLOAD_BASE_URL is unset" in caplog.text
