"""Recurring requests over HTTP, against a real `exhaust serve` (SQLite job store)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.live import LiveApi, headers, start_server
from tests.jobs.helpers import make_source


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    folder = tmp_path_factory.mktemp("sched-api")
    values = {
        "data_dir": str(folder / "data"), "db_url": f"sqlite:///{folder / 'jobs.sqlite3'}",
        "source": str(make_source(folder / "source")), "storage_url": str(folder / "storage"),
        "signing_secret": "s", "api_token_cache_seconds": "1",
    }  # fmt: skip
    live = start_server(values, folder / "server.log")
    yield live
    live.stop()


def body(**request) -> dict:
    return {"request": request}


def test_admins_manage_their_channels_schedules(server: LiveApi) -> None:
    admin = server.token("ch-1", "ORG_ADMIN", user="admin-1")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post(
            "/schedule/v1/create", headers=headers(admin, "ch-1"),
            json=body(dataset="progress-exhaust", cron="0 6 * * *", datasetConfig={"batchId": "b1"},
                      encryptionKey="zip-secret", email="lead@example.org"),
        )  # fmt: skip
        assert created.status_code == 200, created.text
        view = created.json()["result"]
        assert view["channel"] == "ch-1" and view["requestedBy"] == "admin-1" and view["encrypted"] is True
        assert view["nextRunAt"].endswith("+05:30") and "zip-secret" not in created.text
        schedule_id = view["scheduleId"]

        listed = client.get("/schedule/v1/list", headers=headers(admin, "ch-1")).json()["result"]
        assert [s["scheduleId"] for s in listed["schedules"]] == [schedule_id]
        other = server.token("ch-2", "ORG_ADMIN", user="admin-2")
        assert client.get("/schedule/v1/list", headers=headers(other, "ch-2")).json()["result"]["count"] == 0
        assert (
            client.post(f"/schedule/v1/run/{schedule_id}", headers=headers(other, "ch-2")).status_code == 404
        )

        ran = client.post(f"/schedule/v1/run/{schedule_id}", headers=headers(admin, "ch-1"))
        assert ran.status_code == 200, ran.text
        job = server.store.get(ran.json()["result"]["started"])
        assert job is not None and job.requested_channel == "ch-1" and job.encryption_key == "zip-secret"
        assert job.request_data == {"batchId": "b1", "datasetConfig": {"email": "lead@example.org"}}

        assert (
            client.post(f"/schedule/v1/remove/{schedule_id}", headers=headers(admin, "ch-1")).status_code
            == 200
        )
        again = client.post(f"/schedule/v1/remove/{schedule_id}", headers=headers(admin, "ch-1"))
        assert again.status_code == 404 and again.json()["params"]["errmsg"].startswith("No schedule")


def test_who_may_schedule_what(server: LiveApi) -> None:
    admin = server.token("ch-1", "ORG_ADMIN", user="admin-1")
    mentor = server.token("ch-1", "COURSE_MENTOR", user="mentor-1")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        daily = body(dataset="progress-exhaust", cron="0 6 * * *", datasetConfig={"batchId": "b1"})
        assert client.post("/schedule/v1/create", json=daily).status_code == 401
        assert (
            client.post("/schedule/v1/create", headers=headers(mentor, "ch-1"), json=daily).status_code == 403
        )
        foreign = body(dataset="progress-exhaust", cron="0 6 * * *", datasetConfig={"batchId": "b4"})
        assert (
            client.post("/schedule/v1/create", headers=headers(admin, "ch-1"), json=foreign).status_code
            == 403
        )
        bad_cron = body(dataset="progress-exhaust", cron="sometimes", datasetConfig={"batchId": "b1"})
        refused = client.post("/schedule/v1/create", headers=headers(admin, "ch-1"), json=bad_cron)
        assert refused.status_code == 400 and "invalid cron expression" in refused.json()["params"]["errmsg"]
        emitted = body(
            dataset="progress-exhaust", cron="0 6 * * *", datasetConfig={"fromEmitted": "batch-ids"}
        )
        assert (
            client.post("/schedule/v1/create", headers=headers(admin, "ch-1"), json=emitted).status_code
            == 200
        )
        feed = body(dataset="tpd", cron="0 6 * * *")
        made = client.post("/schedule/v1/create", headers=headers(admin, "ch-1"), json=feed)
        assert made.status_code == 200 and made.json()["result"]["dataset"] == "tpd"


def test_tpd_status_needs_an_admin(server: LiveApi) -> None:
    mentor = server.token("ch-1", "COURSE_MENTOR", user="mentor-1")
    admin = server.token("ch-1", "ORG_ADMIN", user="admin-1")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/tpd/v1/status", headers=headers(mentor, "ch-1")).status_code == 403
        answer = client.get("/tpd/v1/status", headers=headers(admin, "ch-1"))
        assert answer.status_code == 200 and answer.json()["result"] == {"runs": []}
        nothing = client.post("/tpd/v1/run", headers=headers(admin, "ch-1"))
        assert nothing.status_code == 400
        assert nothing.json()["params"]["errmsg"].startswith("no batch ids were emitted")
