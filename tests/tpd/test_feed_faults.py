"""The TPD driver against a misbehaving dataset API: every fault ends in a clear state, the rest go on."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from exhaust.emission.tables import DATA_TABLES, open_cqube_engine
from exhaust.outputs.zipping import zip_report
from exhaust.settings import Settings
from exhaust.tpd.dataset_api import DatasetApiClient
from exhaust.tpd.feed import TpdFeed
from tests.tpd.data import MAPPING_CSV, MASTERS, emit
from tests.tpd.fake_api import FakeDatasetApi, Scenario

KEY = "tpd-zip-key"
HEADER = "Collection Id,Collection Name,Batch Id,Batch Name,User UUID,State,District,Org Name,Enrolment Date,Completion Date,Certificate Status,Progress,Total Score"


def progress_zip(folder: Path, batch: str, users: list[str], key: str = KEY) -> bytes:
    rows = [
        f"do_c1,Course One,BatchId_{batch},Batch {batch},{u},Test State,D1,Org,01/12/2026,,,{50},40%"
        for u in users
    ]
    csv_path = folder / f"{batch}_progress_20261201.csv"
    csv_path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return zip_report(csv_path, folder / f"{batch}.zip", password=key).read_bytes()


def feed_settings(tmp_path: Path, url: str, api_url: str, **extra) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", db_url=url, cqube_db_url=url, storage_url=str(tmp_path / "out"),
        tpd_api_url=api_url, tpd_api_token="svc-token", tpd_channel="tpd-channel", tpd_encryption_key=KEY,
        tpd_retry_backoff_seconds=0, **extra,
    )  # fmt: skip


def emit_batches(settings: Settings, tmp_path: Path, batches: list[str]) -> None:
    engine = open_cqube_engine(settings)
    files = {**MASTERS, "diksha_tpd_mapping": MAPPING_CSV,
             "diksha_api_progress_exhaust_batch_ids": "batchIdList\n" + "\n".join(batches) + "\n"}  # fmt: skip
    assert set(emit(engine, tmp_path / "emitted", files).values()) == {"OK"}


def trans_rows(settings: Settings) -> list[tuple[str, str]]:
    table = DATA_TABLES["diksha_tpd"]
    with open_cqube_engine(settings).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(table.c.batch_id, table.c.uuid)))


def test_wrong_key_expired_link_no_file_and_503s(tmp_path: Path, cqube_url: str) -> None:
    batches = ["0131", "0132", "0133", "0134"]
    scenario = Scenario(
        files={
            "0131": progress_zip(tmp_path, "0131", ["t1", "t2"]),
            "0132": progress_zip(tmp_path, "0132", ["t3"], key="someone-elses-key"),
            "0133": progress_zip(tmp_path, "0133", ["t4", "t5"]),
        },
        no_file={"0134"},
        expired={"0133"},
        fail_next={"submit": [503], "list": [503, 502]},
    )
    with FakeDatasetApi(scenario) as api:
        settings = feed_settings(tmp_path, cqube_url, api.url)
        emit_batches(settings, tmp_path, batches)
        status = TpdFeed(settings).run(wait_seconds=20, poll_seconds=0.05)
    assert status["aggregated"] is True and status["status"] == "PARTIAL"
    [request] = status["requests"]
    files = {f["batchId"]: f for f in request["files"]}
    assert files["0131"]["status"] == "INGESTED" and files["0131"]["processedRecords"] == 2
    assert files["0131"]["layout"] == "sunbird-lern"
    assert files["0132"]["status"] == "FAILED"
    assert "did not open with the configured encryption key" in files["0132"]["error"]
    assert files["0133"]["status"] == "INGESTED"  # the refused link was replaced by a fresh one
    assert files["0134"]["status"] == "NO_FILE" and "made no file" in files["0134"]["error"]
    assert (request["totalFiles"], request["filesProcessed"], request["filesEmitted"]) == (3, 2, 2)
    assert request["requestStatus"] == "SUCCESS" and request["processStatus"] == "PARTIAL"
    # the 503 / 502 answers were retried, the submit carried Sunbird's shape, the key and the channel
    submits = [c for c in scenario.calls if c[0] == "POST"]
    assert len(submits) == 2 and submits[-1][2]["Authorization"] == "Bearer svc-token"
    assert submits[-1][2]["X-Channel-ID"] == "tpd-channel"
    assert scenario.submitted[-1]["datasetConfig"]["batchFilter"] == batches
    assert scenario.submitted[-1]["encryptionKey"] == KEY
    assert sum(1 for c in scenario.calls if "/request/list/" in c[1]) >= 3
    assert trans_rows(settings) == [("0131", "t1"), ("0131", "t2"), ("0133", "t4"), ("0133", "t5")]
    assert status["summary"]["learners_unmapped"] == 1  # t5


def test_a_download_that_keeps_failing_is_retried_on_the_next_round(tmp_path: Path, cqube_url: str) -> None:
    scenario = Scenario(
        files={"0141": progress_zip(tmp_path, "0141", ["t1"])},
        status_sequence=["SUCCESS"],
        fail_next={"file": [503, 503]},
    )
    with FakeDatasetApi(scenario) as api:
        settings = feed_settings(tmp_path, cqube_url, api.url, tpd_retries=1)
        emit_batches(settings, tmp_path, ["0141"])
        feed = TpdFeed(settings)
        run_id = feed.start()
        first = feed.advance(run_id)
        file = first["requests"][0]["files"][0]
        assert first["status"] == "IN_PROGRESS" and not first["aggregated"]
        assert file["status"] == "RETRY" and file["attempts"] == 1 and "will be retried" in file["error"]
        assert "503" in file["error"] and "sig=" not in file["error"]  # no signature in messages
        second = feed.advance(run_id)
    assert second["status"] == "SUCCESS" and second["aggregated"]
    assert second["requests"][0]["files"][0]["status"] == "INGESTED"
    assert trans_rows(settings) == [("0141", "t1")]


def test_todays_run_is_reused_and_no_batch_ids_is_a_clear_error(tmp_path: Path, cqube_url: str) -> None:
    scenario = Scenario(files={"0151": progress_zip(tmp_path, "0151", ["t1"])}, status_sequence=["SUCCESS"])
    with FakeDatasetApi(scenario) as api:
        settings = feed_settings(tmp_path, cqube_url, api.url)
        from exhaust.errors import BadInput

        with pytest.raises(BadInput, match="no batch ids were emitted"):
            TpdFeed(settings).start()
        emit_batches(settings, tmp_path, ["0151"])
        feed = TpdFeed(settings)
        assert feed.start() == feed.start()
        assert len(scenario.submitted) == 1


def test_the_client_gives_up_with_one_sentence_and_refusals_are_terminal(tmp_path: Path) -> None:
    scenario = Scenario(fail_next={"list": [503, 503, 503], "submit": [400]})
    with FakeDatasetApi(scenario) as api:
        waits: list[float] = []
        client = DatasetApiClient(api.url, "t", "ch", retries=2, backoff=0.5, sleep=waits.append)
        from exhaust.errors import RemoteServiceError

        with pytest.raises(RemoteServiceError) as down:
            client.list("x")
        assert down.value.transient and "answered 503 3 times" in down.value.message
        assert waits == [0.5, 1.0]
        with pytest.raises(RemoteServiceError) as refused:
            client.submit(tag="x", dataset="progress-exhaust", dataset_config={"batchFilter": ["1"]})
        assert not refused.value.transient and "Service Unavailable" in refused.value.message
    with pytest.raises(RemoteServiceError) as gone:
        DatasetApiClient(api.url, "t", "ch", retries=1, sleep=lambda _s: None).list("x")
    assert gone.value.transient and "did not answer after 2 attempts" in gone.value.message


def test_a_daily_tpd_schedule_starts_the_run_and_the_leader_advances_it(
    tmp_path: Path, cqube_url: str
) -> None:
    from datetime import UTC, datetime, timedelta

    import exhaust.tpd.hooks  # noqa: F401  (registers the tpd schedule kind)
    from exhaust.jobs.scheduler import Scheduler
    from exhaust.jobs.service import open_store

    scenario = Scenario(
        files={"0161": progress_zip(tmp_path, "0161", ["t1", "t2"])}, status_sequence=["SUCCESS"]
    )
    with FakeDatasetApi(scenario) as api:
        settings = feed_settings(tmp_path, cqube_url, api.url)
        emit_batches(settings, tmp_path, ["0161"])
        scheduler = Scheduler(open_store(settings), settings, owner="leader")
        schedule = scheduler.schedules.add("tpd", {}, cron="0 6 * * *")
        scheduler.schedules.set_next_run(schedule.schedule_id, datetime.now(UTC) - timedelta(hours=30))
        [fired] = scheduler.tick()
        assert fired.error is None and fired.started
        status = TpdFeed(settings).run_status(fired.started)
    assert status["status"] == "SUCCESS" and status["aggregated"]  # advanced in the same round
    assert trans_rows(settings) == [("0161", "t1"), ("0161", "t2")]
    assert scheduler.tick() == []  # the next slot is tomorrow's
