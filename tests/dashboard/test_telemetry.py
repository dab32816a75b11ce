"""`POST /v1/telemetry` against the live server: validation, duplicates, 10,000-event bodies, who may send."""

from __future__ import annotations

import copy
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from exhaust.dashboard.telemetry import download_click
from tests.api.live import LiveApi
from tests.dashboard.data import B1, CHANNEL, COURSE, MENTOR_1, OTHER_CHANNEL


def event(**changes) -> dict:
    found = download_click(
        channel=CHANNEL, user_id=MENTOR_1, course_id=COURSE, batch_id=B1, dataset="progress-exhaust"
    )
    found["mid"] = f"TEST:{uuid.uuid4()}"
    found["edata"]["pageid"] = "telemetry-test"  # not a real click of the browser tests
    found["edata"]["id"] = "telemetry-test"
    found.update(changes)
    return found


def body(events: list) -> dict:
    return {"id": "api.sunbird.telemetry", "ver": "3.0", "params": {"msgid": "msg-1"}, "events": events}


def stored(dash: LiveApi, mids: list[str]) -> int:
    with dash.store.engine.connect() as conn:
        table = sa.table("telemetry_event", sa.column("mid"))
        total = 0
        for start in range(0, len(mids), 1000):
            query = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.mid.in_(mids[start : start + 1000]))
            )
            total += conn.execute(query).scalar_one()
        return total


@pytest.fixture(scope="module")
def auth(dash: LiveApi) -> dict[str, str]:
    return {"Authorization": f"Bearer {dash.token(CHANNEL, 'COURSE_MENTOR', user=MENTOR_1)}"}


def send(dash: LiveApi, payload, headers: dict[str, str], **kwargs) -> httpx.Response:
    return httpx.post(f"{dash.url}/v1/telemetry", json=payload, headers=headers, timeout=120, **kwargs)


def test_valid_events_are_stored_once_and_the_answer_is_sunbirds_envelope(dash: LiveApi, auth) -> None:
    first, second = event(), event()
    answer = send(dash, body([first, second, copy.deepcopy(first)]), auth)
    assert answer.status_code == 200, answer.text
    envelope = answer.json()
    assert envelope["id"] == "api.telemetry" and envelope["responseCode"] == "SUCCESS"
    assert envelope["params"]["status"] == "successful" and envelope["params"]["msgid"] == "msg-1"
    assert envelope["result"] == {"received": 3, "stored": 2, "duplicates": 1}
    again = send(dash, body([first, second]), auth).json()
    assert again["result"] == {"received": 2, "stored": 0, "duplicates": 2}
    assert stored(dash, [first["mid"], second["mid"]]) == 2


BAD_EVENTS = [
    ("not an object", lambda e: "INTERACT", "events[1] must be a JSON object"),
    ("no mid", lambda e: {k: v for k, v in e.items() if k != "mid"}, "events[1].mid is missing"),
    ("ets in seconds", lambda e: {**e, "ets": 1_700_000_000}, "events[1].ets is not a plausible time"),
    ("ets as text", lambda e: {**e, "ets": "1700000000000"}, "events[1].ets must be the event time"),
    ("version 2", lambda e: {**e, "ver": "2.1"}, "events[1].ver must be 3.0"),
    ("lower-case eid", lambda e: {**e, "eid": "interact"}, "events[1].eid must be an upper-case"),
    (
        "no channel",
        lambda e: {**e, "context": {**e["context"], "channel": ""}},
        "events[1].context.channel is missing",
    ),
    (
        "no pdata",
        lambda e: {**e, "context": {k: v for k, v in e["context"].items() if k != "pdata"}},
        "events[1].context.pdata is missing",
    ),
    ("no actor", lambda e: {k: v for k, v in e.items() if k != "actor"}, "events[1].actor is missing"),
    ("click without id", lambda e: {**e, "edata": {"type": "CLICK"}}, "events[1].edata.id is missing"),
    (
        "cdata not a list",
        lambda e: {**e, "context": {**e["context"], "cdata": "x"}},
        "events[1].context.cdata must be a list",
    ),
]


@pytest.mark.parametrize(("case", "spoil", "message"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_a_bad_event_refuses_the_whole_body_with_a_clear_message(
    dash: LiveApi, auth, case, spoil, message
) -> None:
    good, bad = event(), spoil(event())
    answer = send(dash, body([good, bad]), auth)
    assert answer.status_code == 400, answer.text
    envelope = answer.json()
    assert envelope["responseCode"] == "CLIENT_ERROR" and envelope["params"]["status"] == "failed"
    assert envelope["params"]["errmsg"].startswith(message)
    assert "Traceback" not in answer.text
    assert stored(dash, [good["mid"]]) == 0  # nothing of a refused body is kept


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "events is missing"),
        ({"events": []}, "events is empty"),
        ({"events": {}}, "events must be a list"),
        ([], "request body must be a JSON object"),
    ],
)
def test_bodies_without_events_are_refused(dash: LiveApi, auth, payload, message) -> None:
    answer = send(dash, payload, auth)
    assert answer.status_code == 400 and answer.json()["params"]["errmsg"] == message


def test_not_json_and_wrong_content_type(dash: LiveApi, auth) -> None:
    broken = httpx.post(
        f"{dash.url}/v1/telemetry", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["params"]["errmsg"] == "request body is not valid JSON"
    text = httpx.post(
        f"{dash.url}/v1/telemetry", content=b"x", headers={**auth, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415


def test_ten_thousand_events_in_one_body_then_the_same_again(dash: LiveApi, auth) -> None:
    events = [event() for _ in range(10_000)]
    mids = [e["mid"] for e in events]
    started = time.perf_counter()
    answer = send(dash, body(events), auth)
    seconds = time.perf_counter() - started
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["result"] == {"received": 10_000, "stored": 10_000, "duplicates": 0}
    assert seconds < 60
    again = send(dash, body(events), auth)
    assert again.json()["result"] == {"received": 10_000, "stored": 0, "duplicates": 10_000}
    assert stored(dash, mids) == 10_000


def test_who_may_send(dash: LiveApi, auth) -> None:
    nobody = send(dash, body([event()]), {})
    assert nobody.status_code == 401 and nobody.json()["responseCode"] == "UNAUTHORIZED"
    forged = send(dash, body([event()]), {"Authorization": "Bearer exh_nope_nope"})
    assert forged.status_code == 401
    foreign = event(context={**event()["context"], "channel": OTHER_CHANNEL})
    refused = send(dash, body([foreign]), auth)
    assert refused.status_code == 403 and stored(dash, [foreign["mid"]]) == 0
    service = {"Authorization": f"Bearer {dash.token(CHANNEL, 'SERVICE')}"}
    forwarded = send(dash, body([foreign]), service)  # a telemetry forwarder may send any channel's
    assert forwarded.status_code == 200 and stored(dash, [foreign["mid"]]) == 1


def test_a_body_over_the_limit_is_refused_before_it_is_read(dash: LiveApi, auth) -> None:
    huge = b'{"events": [' + b" " * (17 * 1024 * 1024) + b"]}"
    answer = httpx.post(
        f"{dash.url}/v1/telemetry",
        content=huge,
        headers={**auth, "Content-Type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 413


def test_an_event_time_written_as_a_whole_float_is_taken() -> None:
    """JSON Schema's integer includes 1.7e12 (found by the contract test): it is the same time, not a 400."""
    from exhaust.dashboard.telemetry import check_event

    sent = event()
    row = check_event({**sent, "ets": float(sent["ets"])}, 0, int(time.time() * 1000))
    assert row.ets == sent["ets"] and isinstance(row.ets, int)
