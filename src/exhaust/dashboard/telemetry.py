"""Sunbird telemetry v3 events: the API envelope, event checks and what the ratio reads from an event.

A body is Sunbird's telemetry API request, `{"id": "api.sunbird.telemetry", "ver": "3.0", "params":
{"msgid": …}, "events": [ … ]}`. Every event must carry the v3 fields every Sunbird client sends (`eid`,
`ets`, `ver` 3.x, `mid`, `actor`, `context` with `channel`, `pdata.id` and `env`, `edata`); an INTERACT also
needs `edata.type` and `edata.id`. One bad event refuses the whole body with a sentence naming it, so a
client can fix and resend without having half of it stored.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from exhaust.dashboard.store import EventRow
from exhaust.errors import BadInput

API_ID = "api.telemetry"
REQUEST_ID = "api.sunbird.telemetry"
MAX_EVENTS = 20_000
CLICK_ID = "download-file"
EID = re.compile(r"^[A-Z][A-Z_]{0,31}$")
#: Event times before 2000 or more than a day ahead are a client's clock or unit mistake.
MIN_ETS, MAX_AHEAD_MS = 946_684_800_000, 86_400_000


def _text(value: Any, where: str, *, required: bool = True, limit: int = 100) -> str | None:
    if value is None or value == "":
        if required:
            raise BadInput(f"{where} is missing")
        return None
    if not isinstance(value, str):
        raise BadInput(f"{where} must be text")
    if len(value) > limit:
        raise BadInput(f"{where} is longer than {limit} characters")
    return value


def _object(value: Any, where: str, *, required: bool = True) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if value is None:
        raise BadInput(f"{where} is missing")
    if not isinstance(value, dict):
        raise BadInput(f"{where} must be a JSON object")
    return value


def _course_of(cdata: Any, where: str) -> str | None:
    """The course id among `context.cdata` entries (`{"type": "Course", "id": …}`), if any."""
    if cdata is None:
        return None
    if not isinstance(cdata, list):
        raise BadInput(f"{where}.context.cdata must be a list")
    course = None
    for index, entry in enumerate(cdata):
        item = _object(entry, f"{where}.context.cdata[{index}]")
        kind = _text(item.get("type"), f"{where}.context.cdata[{index}].type")
        ident = _text(item.get("id"), f"{where}.context.cdata[{index}].id")
        if course is None and kind is not None and kind.lower() == "course":
            course = ident
    return course


def check_event(event: Any, index: int, now_ms: int) -> EventRow:
    """One event as a row to store, or BadInput naming the event and the field."""
    where = f"events[{index}]"
    if not isinstance(event, dict):
        raise BadInput(f"{where} must be a JSON object")
    eid = _text(event.get("eid"), f"{where}.eid", limit=32)
    assert eid is not None
    if not EID.match(eid):
        raise BadInput(f"{where}.eid must be an upper-case event name such as INTERACT")
    ets = event.get("ets")
    if isinstance(ets, float) and ets.is_integer():
        ets = int(ets)  # 1.7e12 is a JSON integer too
    if isinstance(ets, bool) or not isinstance(ets, int):
        raise BadInput(f"{where}.ets must be the event time in epoch milliseconds")
    if not MIN_ETS <= ets <= now_ms + MAX_AHEAD_MS:
        raise BadInput(f"{where}.ets is not a plausible time in epoch milliseconds")
    ver = _text(event.get("ver"), f"{where}.ver", limit=10)
    if ver is None or not ver.startswith("3."):
        raise BadInput(f"{where}.ver must be 3.0 (telemetry v3)")
    mid = _text(event.get("mid"), f"{where}.mid")
    actor = _object(event.get("actor"), f"{where}.actor")
    actor_id = _text(actor.get("id"), f"{where}.actor.id")
    _text(actor.get("type"), f"{where}.actor.type")
    context = _object(event.get("context"), f"{where}.context")
    channel = _text(context.get("channel"), f"{where}.context.channel")
    pdata = _object(context.get("pdata"), f"{where}.context.pdata")
    _text(pdata.get("id"), f"{where}.context.pdata.id", limit=200)
    env = _text(context.get("env"), f"{where}.context.env")
    course_id = _course_of(context.get("cdata"), where)
    edata = _object(event.get("edata"), f"{where}.edata")
    required = eid == "INTERACT"
    edata_type = _text(edata.get("type"), f"{where}.edata.type", required=required)
    edata_id = _text(edata.get("id"), f"{where}.edata.id", required=required)
    target = _object(event.get("object"), f"{where}.object", required=False)
    object_id = _text(target.get("id"), f"{where}.object.id", required=bool(target))
    object_type = _text(target.get("type"), f"{where}.object.type", required=bool(target))
    assert mid is not None and channel is not None
    return EventRow(
        mid=mid,
        eid=eid,
        ets=ets,
        event_time=datetime.fromtimestamp(ets / 1000, UTC),
        channel=channel,
        env=env,
        actor_id=actor_id,
        edata_type=edata_type,
        edata_id=edata_id,
        object_id=object_id,
        object_type=object_type,
        course_id=course_id,
        event=event,
    )


def parse_batch(data: Any, now_ms: int) -> list[EventRow]:
    """The events of a telemetry API body, each checked; a `mid` repeated within the body counts once."""
    if not isinstance(data, dict):
        raise BadInput("request body must be a JSON object")
    events = data.get("events")
    if events is None:
        raise BadInput("events is missing")
    if not isinstance(events, list):
        raise BadInput("events must be a list")
    if not events:
        raise BadInput("events is empty")
    if len(events) > MAX_EVENTS:
        raise BadInput(f"at most {MAX_EVENTS} events may be sent at once; split the batch")
    rows: dict[str, EventRow] = {}
    for index, event in enumerate(events):
        row = check_event(event, index, now_ms)
        rows.setdefault(row.mid, row)
    return list(rows.values())


def download_click(
    *, channel: str, user_id: str, course_id: str, batch_id: str, dataset: str, env: str = "course-dashboard"
) -> dict[str, Any]:
    """The INTERACT event of a Download File click, as the page sends it (also the test's reference)."""
    return {
        "eid": "INTERACT",
        "ets": int(datetime.now(UTC).timestamp() * 1000),
        "ver": "3.0",
        "mid": f"INTERACT:{uuid.uuid4()}",
        "actor": {"id": user_id, "type": "User"},
        "context": {
            "channel": channel,
            "pdata": {"id": "exhaust.dashboard", "ver": "1.0", "pid": "course-dashboard"},
            "env": env,
            "cdata": [{"id": course_id, "type": "Course"}, {"id": batch_id, "type": "CourseBatch"}],
            "rollup": {"l1": course_id},
        },
        "object": {"id": batch_id, "type": "CourseBatch", "rollup": {"l1": course_id}},
        "edata": {"type": "CLICK", "subtype": dataset, "id": CLICK_ID, "pageid": "batch-dashboard"},
        "tags": [channel],
    }
