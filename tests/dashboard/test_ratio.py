"""The download ratio per batch: JSON API, CSV export, page and gauge, over hand-placed downloads in 2024.

The browser tests download today; these tests place downloads and clicks on days in January 2024
directly in the tables, so their ranges see only these.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from exhaust.dashboard.store import DashboardStore
from exhaust.dashboard.telemetry import download_click, parse_batch
from tests.api.live import LiveApi
from tests.dashboard.data import ADMIN, B1, B2, B_NO_TREE, CHANNEL, COURSE, COURSE_2, MENTOR_1, OTHER_CHANNEL

RANGE = {"from": "2024-01-01", "to": "2024-01-07"}


def place(store: DashboardStore, day: int, course: str, batch: str, channel: str = CHANNEL) -> None:
    """One download on a day of January 2024 (a row as `record_download` writes it, dated then)."""
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(store.downloads).values(
                id=uuid.uuid4().hex,
                downloaded_at=datetime(2024, 1, day, 12, tzinfo=UTC),
                channel=channel,
                course_id=course,
                batch_id=batch,
                dataset="progress-exhaust",
                request_id="R",
                file_key=f"progress-exhaust/R/{batch}_progress_202401{day:02d}.zip",
            )
        )


@pytest.fixture(scope="module")
def placed(dash: LiveApi) -> DashboardStore:
    store = DashboardStore(dash.store.engine)
    place(store, 2, COURSE, B1)
    place(store, 2, COURSE, B1)
    place(store, 5, COURSE_2, B2)
    place(store, 5, "do_dash_other", "dbx", OTHER_CHANNEL)  # another tenant's: never in ch-dash figures
    click = download_click(
        channel=CHANNEL, user_id=MENTOR_1, course_id=COURSE, batch_id=B1, dataset="progress-exhaust"
    )
    click["ets"] = int(datetime(2024, 1, 2, 9, tzinfo=UTC).timestamp() * 1000)
    store.store_events(parse_batch({"events": [click]}, int(datetime.now(UTC).timestamp() * 1000)))
    return store


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def signed_in(dash: LiveApi, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dash.url, timeout=30, follow_redirects=True) as client:
        form = client.get("/dashboard/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        data = {"csrf_token": csrf, "token": token, "next": "/dashboard/courses"}
        answer = client.post("/dashboard/sign-in", data=data)
        assert answer.status_code == 200 and "/dashboard/courses" in str(answer.url)
        yield client


def test_json_per_course_tenant_and_day(dash: LiveApi, placed) -> None:
    admin = dash.token(CHANNEL, "ORG_ADMIN", user=ADMIN)
    answer = httpx.get(f"{dash.url}/v1/download-ratio", params=RANGE, headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["channel"] == CHANNEL and (result["from"], result["to"]) == ("2024-01-01", "2024-01-07")
    courses = {c["id"]: c for c in result["courses"]}
    # Safe Schools: 2 downloads, 1 click, 1 batch with enrolments (db3 has none) -> 2.0
    assert courses[COURSE] == {
        "id": COURSE,
        "name": "Safe Schools",
        "downloads": 2,
        "clicks": 1,
        "batches": 1,
        "ratio": 2.0,
    }
    assert courses[COURSE_2]["downloads"] == 1 and courses[COURSE_2]["ratio"] == 1.0
    assert "do_dash_other" not in courses
    assert result["tenants"] == [
        {"id": CHANNEL, "name": CHANNEL, "downloads": 3, "clicks": 1, "batches": 2, "ratio": 1.5}
    ]
    assert result["overall"]["ratio"] == 1.5
    days = {d["date"]: d for d in result["days"]}
    assert len(days) == 7
    assert days["2024-01-02"] == {"date": "2024-01-02", "downloads": 2, "clicks": 1, "ratio": 1.0}
    assert days["2024-01-05"]["downloads"] == 1 and days["2024-01-03"]["downloads"] == 0


def test_csv_export_of_the_page_and_the_api(dash: LiveApi, placed) -> None:
    with signed_in(dash, dash.token(CHANNEL, "ORG_ADMIN", user=ADMIN)) as client:
        page = client.get("/dashboard/ratio", params=RANGE)
        assert page.status_code == 200 and '<html lang="en">' in page.text
        assert 'data-figure="ratio">1.5<' in page.text and "<svg" in page.text
        export = client.get("/dashboard/ratio.csv", params=RANGE)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert 'filename="download-ratio_20240101_20240107.csv"' in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    by_id = {(r["level"], r["id"]): r for r in rows}
    assert by_id[("course", COURSE)] == {
        "level": "course", "id": COURSE, "name": "Safe Schools", "from": "2024-01-01", "to": "2024-01-07",
        "downloads": "2", "clicks": "1", "batches": "1", "ratio": "2",
    }  # fmt: skip
    assert by_id[("tenant", CHANNEL)]["ratio"] == "1.5" and by_id[("all", CHANNEL)]["downloads"] == "3"
    api = httpx.get(
        f"{dash.url}/v1/download-ratio",
        params={**RANGE, "format": "csv"},
        headers=bearer(dash.token(CHANNEL, "SERVICE")),
    )
    assert api.text == export.text


def test_bad_ranges_and_who_may_see(dash: LiveApi, placed) -> None:
    admin = bearer(dash.token(CHANNEL, "ORG_ADMIN", user=ADMIN))
    for params, message in (
        ({"from": "2024-02-01", "to": "2024-01-01"}, "from must not be after to"),
        ({"from": "01/02/2024"}, "from and to must be dates as yyyy-MM-dd"),
        ({"from": "2020-01-01", "to": "2024-01-01"}, "the date range must be at most 366 days"),
    ):
        answer = httpx.get(f"{dash.url}/v1/download-ratio", params=params, headers=admin)
        assert answer.status_code == 400 and answer.json()["params"]["errmsg"] == message
    mentor = dash.token(CHANNEL, "COURSE_MENTOR", user=MENTOR_1)
    assert httpx.get(f"{dash.url}/v1/download-ratio", headers=bearer(mentor)).status_code == 403
    assert httpx.get(f"{dash.url}/v1/download-ratio").status_code == 401
    with signed_in(dash, mentor) as client:
        assert client.get("/dashboard/ratio").status_code == 403
        assert client.get("/dashboard/ratio.csv").status_code == 403


def test_session_cookie_is_httponly_and_samesite(dash: LiveApi) -> None:
    client = httpx.Client(base_url=dash.url, timeout=30)
    form = client.get("/dashboard/sign-in")
    assert "content-security-policy" in form.headers
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    token = dash.token(CHANNEL, "COURSE_MENTOR", user=MENTOR_1)
    refused = client.post("/dashboard/sign-in", data={"token": token})
    assert refused.status_code == 403  # the sign-in form has its CSRF token too
    wrong = client.post("/dashboard/sign-in", data={"csrf_token": csrf, "token": "exh_bad_bad"})
    assert wrong.status_code == 401 and "not valid or has been revoked" in wrong.text
    service = client.post(
        "/dashboard/sign-in", data={"csrf_token": csrf, "token": dash.token(CHANNEL, "SERVICE")}
    )
    assert service.status_code == 403 and "Service tokens cannot sign in" in service.text
    answer = client.post(
        "/dashboard/sign-in", data={"csrf_token": csrf, "token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("exhaust_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert token not in cookie
    client.close()


def test_the_gauge_on_metrics(dash: LiveApi, placed) -> None:
    service = bearer(dash.token(CHANNEL, "SERVICE"))
    text = httpx.get(f"{dash.url}/metrics", headers=service).text
    assert "# TYPE exhaust_download_ratio gauge" in text
    assert re.search(r'^exhaust_download_ratio\{channel="ch-dash"\} [0-9.]+$', text, re.M)
    assert re.search(r"^exhaust_download_ratio_all [0-9.]+$", text, re.M)


def test_pages_speak_the_language_asked_for(dash: LiveApi) -> None:
    hindi = httpx.get(f"{dash.url}/dashboard/sign-in", params={"lang": "hi"})
    assert '<html lang="hi">' in hindi.text and "साइन इन" in hindi.text
    by_header = httpx.get(f"{dash.url}/dashboard/sign-in", headers={"Accept-Language": "hi-IN,hi;q=0.9"})
    assert '<html lang="hi">' in by_header.text
    english = httpx.get(f"{dash.url}/dashboard/sign-in", headers={"Accept-Language": "fr-FR"})
    assert '<html lang="en">' in english.text and "Paste the API token" in english.text


def test_a_batch_without_a_course_tree_gets_a_plain_page(dash: LiveApi) -> None:
    with signed_in(dash, dash.token(CHANNEL, "COURSE_MENTOR", user=MENTOR_1)) as client:
        page = client.get(f"/dashboard/batches/{B_NO_TREE}")
        assert page.status_code == 404
        assert "has no content hierarchy, so its figures cannot be shown" in page.text
        assert client.get("/dashboard/batches/no-such-batch").status_code == 404
