"""The dashboard in a real browser against a real `exhaust serve` and `exhaust worker` (issue 11)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import httpx
import pyzipper
import sqlalchemy as sa

from tests.api.live import LiveApi
from tests.dashboard.data import ADMIN, B1, B2, CHANNEL, COURSE, COURSE_2, LEARNERS, MENTOR_1, MENTOR_2
from tests.dashboard.expected import expected_summary

REPO = Path(__file__).resolve().parents[2]
BUCKETS = [*(f"{low}–{low + 9}" for low in range(0, 100, 10)), "100"]
JOB_TIMEOUT_MS = 60_000


def ratio_of(dash: LiveApi, course: str) -> dict:
    admin = dash.token(CHANNEL, "ORG_ADMIN", user=ADMIN)
    answer = httpx.get(
        f"{dash.url}/v1/download-ratio", headers={"Authorization": f"Bearer {admin}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return next(c for c in answer.json()["result"]["courses"] if c["id"] == course)


def sign_in(page, token: str, target: str) -> None:
    page.goto(target)
    assert "/dashboard/sign-in" in page.url  # not signed in yet: sent to sign-in, then back
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{target}")


def clicks_of(dash: LiveApi, batch_id: str) -> list[dict]:
    with dash.store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT event FROM telemetry_event WHERE edata_id = 'download-file' AND object_id = :b"),
            {"b": batch_id},
        ).all()
    return [json.loads(row[0]) for row in rows]


def test_mentor_downloads_the_progress_report_and_the_ratio_moves(page, dash: LiveApi, worker) -> None:
    # The dashboard server is shared by the package's tests (test_ratio adds events for this course too),
    # so what this test adds is measured against what was there before it.
    before = ratio_of(dash, COURSE)
    clicks_before = {event["mid"] for event in clicks_of(dash, B1)}
    mentor = dash.token(CHANNEL, "COURSE_MENTOR", user=MENTOR_1)
    sign_in(page, mentor, f"/dashboard/batches/{B1}")

    cookie = next(c for c in page.context.cookies() if c["name"] == "exhaust_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.locator("html").get_attribute("lang") == "en"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(el => el.labels.length === 0).map(el => el.outerHTML)"""
    )
    assert unlabelled == []  # every control has a label
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    want = expected_summary()
    figure = lambda name: page.locator(f'[data-figure="{name}"]').inner_text()  # noqa: E731
    assert figure("enrolled") == str(want["enrolled"]) == "12"
    assert figure("completed") == str(want["completed"]) == "3"
    assert figure("percent") == f"{want['percent']:g}%" == "25%"
    assert figure("certificates") == str(want["certificates"]) == "2"
    cells = page.locator("#distribution tbody td").all_inner_texts()
    assert [int(c) for c in cells] == want["distribution"]
    assert page.locator("#distribution thead th").all_inner_texts()[1:] == BUCKETS
    chart_numbers = page.locator("#dist-h ~ svg text.value").all_text_contents()
    assert [int(n) for n in chart_numbers] == want["distribution"]  # the chart's numbers are text
    for kind in ("districts", "blocks"):
        shown = {}
        for row in page.locator(f"#{kind} tbody tr").all():
            name = row.locator("th").inner_text()
            enrolled, completed, _pct = row.locator("td").all_inner_texts()
            shown["" if name == "Not given" else name] = [int(enrolled), int(completed)]
        assert shown == want[kind]

    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name="Download File: Progress report").click()
    page.wait_for_url("**queued=progress-exhaust**")
    page.evaluate("window.__notReloaded = true")
    done = page.locator('tr[data-dataset="progress-exhaust"][data-status="SUCCESS"]')
    done.wait_for(timeout=JOB_TIMEOUT_MS)  # the list refreshes by itself (htmx), no reload
    assert page.evaluate("window.__notReloaded === true")
    assert done.locator("td.status").inner_text().strip() == "Ready"

    with page.expect_download() as pending:
        done.locator("a.file").first.click()
    download = pending.value
    assert download.suggested_filename.startswith(f"{B1}_progress_")
    assert download.suggested_filename.endswith(".zip")  # Sunbird delivers reports zipped
    with zipfile.ZipFile(download.path()) as archive:
        (name,) = archive.namelist()
        assert name == download.suggested_filename.replace(".zip", ".csv")
        text = archive.read(name).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["User UUID"] for r in rows) == sorted(LEARNERS)
    progress = {r["User UUID"]: r["Progress"] for r in rows}
    assert progress["u01"] == "100" and progress["u05"] == "50" and progress["u09"] == "0"

    events = [event for event in clicks_of(dash, B1) if event["mid"] not in clicks_before]
    assert len(events) == 1
    event = events[0]
    assert event["eid"] == "INTERACT" and event["ver"] == "3.0"
    assert event["edata"]["type"] == "CLICK" and event["edata"]["id"] == "download-file"
    assert event["context"]["channel"] == CHANNEL and event["context"]["env"] == "course-dashboard"
    assert event["context"]["pdata"]["id"] == "exhaust.dashboard"
    assert {"id": COURSE, "type": "Course"} in event["context"]["cdata"]
    assert event["object"]["id"] == B1 and event["actor"]["id"] == MENTOR_1
    assert event["mid"].startswith("INTERACT:") and len(event["mid"]) > 30

    after = ratio_of(dash, COURSE)
    assert (after["downloads"], after["clicks"]) == (before["downloads"] + 1, before["clicks"] + 1)
    assert after["id"] == COURSE and after["name"] == "Safe Schools" and after["batches"] == 1
    if before["downloads"] == 0:  # this test ran first: its one download and one click are all there is
        assert after["ratio"] == 1.0


def test_user_info_report_asks_for_a_password_and_the_zip_opens_with_it(page, dash: LiveApi, worker) -> None:
    mentor = dash.token(CHANNEL, "COURSE_MENTOR", user=MENTOR_2)
    sign_in(page, mentor, f"/dashboard/batches/{B2}")
    password_box = page.get_by_label("Password for the zip file of User info report")
    assert password_box.get_attribute("type") == "password"
    page.get_by_role("button", name="Download File: User info report").click()
    assert "queued" not in page.url  # the browser's own check: a password is required first
    password = "Kerala-Zip-2024"
    password_box.fill(password)
    page.get_by_role("button", name="Download File: User info report").click()
    page.wait_for_url("**queued=userinfo-exhaust**")
    assert password not in page.content()  # never echoed
    done = page.locator('tr[data-dataset="userinfo-exhaust"][data-status="SUCCESS"]')
    done.wait_for(timeout=JOB_TIMEOUT_MS)
    with page.expect_download() as pending:
        done.locator("a.file").first.click()
    path = Path(pending.value.path())
    with pyzipper.AESZipFile(path) as archive:
        (name,) = archive.namelist()
        assert archive.getinfo(name).flag_bits & 0x1  # encrypted
        archive.setpassword(password.encode())
        text = archive.read(name).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["User UUID"] for r in rows] == ["u20"]
    logs = dash.log_text() + (Path(dash.settings.data_dir).parent / "worker.log").read_text(encoding="utf-8")
    assert password not in logs
    assert ratio_of(dash, COURSE_2)["downloads"] == 1


def test_rights_csrf_and_sign_out(page, dash: LiveApi) -> None:
    other_mentor = dash.token(CHANNEL, "COURSE_MENTOR", user=MENTOR_2)
    sign_in(page, other_mentor, "/dashboard/courses")
    assert page.locator(f'tr[data-batch="{B1}"]').count() == 0  # only their own batches are listed
    assert page.locator(f'tr[data-batch="{B2}"]').count() == 1
    for path in (
        f"/dashboard/batches/{B1}",
        f"/dashboard/batches/{B1}/requests",
        f"/dashboard/batches/{B1}/summary.json",
    ):
        response = page.goto(path)
        assert response.status == 403, path
    assert "You are not authorized to see this batch." in page.goto(f"/dashboard/batches/{B1}").text()
    assert page.request.get(f"/dashboard/batches/{B1}/summary.json").status == 403

    # A form posted without the CSRF token (or with a wrong one) is refused, and nothing is queued.
    before = len(dash.store.list(f"{COURSE_2}_{B2}", channel=CHANNEL))
    for form in ({"dataset": "progress-exhaust"}, {"dataset": "progress-exhaust", "csrf_token": "forged"}):
        refused = page.request.post(f"/dashboard/batches/{B2}/requests", form=form, max_redirects=0)
        assert refused.status == 403
        assert "did not come from this site" in refused.text()
    assert len(dash.store.list(f"{COURSE_2}_{B2}", channel=CHANNEL)) == before
    assert page.request.post("/dashboard/sign-out", form={}, max_redirects=0).status == 403

    page.goto("/dashboard/courses")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/dashboard/sign-in**")
    assert "You have signed out." in page.content()
    for path in (
        "/dashboard/courses",
        f"/dashboard/batches/{B2}",
        f"/dashboard/batches/{B2}/requests",
        "/dashboard/ratio",
    ):
        page.goto(path)
        assert "/dashboard/sign-in" in page.url, path
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert "exhaust_session" not in cookies
