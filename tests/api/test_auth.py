"""Authentication and authorisation: tokens, channels, roles, mentors, and isolation between channels."""

from __future__ import annotations

import time

import httpx
import pytest

from exhaust.api.auth import COURSE_MENTOR, ORG_ADMIN, SERVICE, Principal, may_act_on_batch
from exhaust.api.batches import BatchFacts
from tests.api.data import BA1, BA2, BB1, BN1, CH_A, CH_B, MENTOR_1, MENTOR_2
from tests.api.live import LiveApi, headers, submit_body
from tests.api.test_validation import assert_error
from tests.cli_runner import invoke

SUBMIT = "/dataset/v1/request/submit"
SUBMIT_ID = "ekstep.analytics.dataset.request.submit"
NOT_AUTHORIZED = "You are not authorized."
NO_CHANNEL = "X-Channel-ID is missing in request header"
NO_TOKEN = "A valid bearer token is required (Authorization: Bearer <token>)."


def submit(
    client: httpx.Client, token: str | None, channel: str | None, tag: str, **request
) -> httpx.Response:
    body = submit_body(
        tag, request.pop("dataset", "progress-exhaust"), request.pop("config", {"batchId": BA1}), **request
    )
    return client.post(SUBMIT, json=body, headers=headers(token, channel))


# ---- the rule itself -----------------------------------------------------------------------------
def principal(*roles: str, user: str | None = "u", channel: str = CH_A) -> Principal:
    return Principal(token_id="t", channel=channel, roles=frozenset(roles), user_id=user)


BATCH = BatchFacts("b", "c", course_channel=CH_A, course_status="Live", created_for=(CH_B,), mentors=("m1",))


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (principal(ORG_ADMIN), True),
        (principal(SERVICE, user=None), True),
        (principal(COURSE_MENTOR, user="m1"), True),
        (principal(COURSE_MENTOR, user="m2"), False),
        (principal(COURSE_MENTOR, user=None), False),
        (
            principal(ORG_ADMIN, channel=CH_B),
            False,
        ),  # created_for does not count when the course has a channel
        (principal(COURSE_MENTOR, user="m1", channel=CH_B), False),
        (principal("PUBLIC", user="m1"), False),
    ],
)
def test_may_act_on_batch(who: Principal, allowed: bool) -> None:
    assert may_act_on_batch(who, BATCH) is allowed


def test_course_without_hierarchy_belongs_to_created_for() -> None:
    orphan = BatchFacts("b", "c", course_channel=None, course_status=None, created_for=(CH_B,), mentors=())
    assert may_act_on_batch(principal(ORG_ADMIN, channel=CH_B), orphan)
    assert not may_act_on_batch(principal(ORG_ADMIN, channel=CH_A), orphan)


# ---- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer nope", "Basic abc", "exh_x_y"])
def test_missing_or_unknown_token_is_a_401(client: httpx.Client, tag: str, authorization: str | None) -> None:
    sent = headers(None, CH_A)
    if authorization:
        sent["Authorization"] = authorization
    for response in (
        client.post(SUBMIT, json=submit_body(tag, config={"batchId": BA1}), headers=sent),
        client.get(f"/dataset/v1/request/read/{tag}?requestId=X", headers=sent),
        client.get(f"/dataset/v1/request/list/{tag}", headers=sent),
        client.post("/request/search", json={"request": {"filters": {"status": "SUBMITTED"}}}, headers=sent),
    ):
        assert response.headers["www-authenticate"] == "Bearer"
        api_id = response.json()["id"]
        assert_error(response, 401, "UNAUTHORIZED", NO_TOKEN, api_id)


def test_a_bad_body_without_token_is_still_a_401(client: httpx.Client) -> None:
    response = client.post(SUBMIT, content=b"{", headers=headers(None, CH_A))
    assert_error(response, 401, "UNAUTHORIZED", NO_TOKEN, SUBMIT_ID)


def test_revoked_token_is_refused(api: LiveApi, client: httpx.Client, tag: str) -> None:
    token = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    assert submit(client, token, CH_A, tag).status_code == 200
    token_id = token.split("_")[1]
    assert api.tokens.revoke(token_id) and not api.tokens.revoke(token_id)
    time.sleep(api.settings.api_token_cache_seconds + 0.2)  # the server trusts a checked token this long
    assert_error(submit(client, token, CH_A, tag), 401, "UNAUTHORIZED", NO_TOKEN, SUBMIT_ID)


def test_tokens_are_stored_hashed(api: LiveApi) -> None:
    token = api.token(CH_A, "COURSE_MENTOR", user="m9")
    with api.store.engine.connect() as conn:
        stored = [tuple(row) for row in conn.execute(api.tokens.t.select())]
    assert not any(token in str(value) for row in stored for value in row)
    assert api.tokens.authenticate(token) == Principal(
        token_id=token.split("_")[1], channel=CH_A, roles=frozenset({COURSE_MENTOR}), user_id="m9"
    )


# ---- channel and role ----------------------------------------------------------------------------
def test_channel_header_is_required(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    assert_error(submit(client, admin, None, tag), 403, "FORBIDDEN", NO_CHANNEL, SUBMIT_ID)
    for path, api_id in (
        (f"/dataset/v1/request/read/{tag}?requestId=X", "ekstep.analytics.dataset.request.info"),
        (f"/dataset/v1/request/list/{tag}", "ekstep.analytics.dataset.request.list"),
    ):
        assert_error(client.get(path, headers=headers(admin)), 403, "FORBIDDEN", NO_CHANNEL, api_id)


def test_user_channel_mismatch(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    assert_error(
        submit(client, admin, CH_B, tag, config={"batchId": BB1}), 403, "FORBIDDEN", NOT_AUTHORIZED, SUBMIT_ID
    )
    response = client.get(f"/dataset/v1/request/list/{tag}", headers=headers(admin, CH_B))
    assert_error(response, 403, "FORBIDDEN", NOT_AUTHORIZED, "ekstep.analytics.dataset.request.list")


def test_service_channel_mismatch_uses_the_consumer_message(
    api: LiveApi, client: httpx.Client, tag: str
) -> None:
    service = api.token(CH_A, "SERVICE", user="cqube-a")
    message = f"Given X-Consumer-ID='cqube-a' and X-Channel-ID='{CH_B}' are not authorized"
    assert_error(submit(client, service, CH_B, tag), 403, "FORBIDDEN", message, SUBMIT_ID)


def test_requested_by_must_be_the_token_user(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    response = submit(client, admin, CH_A, tag, requestedBy="somebody-else")
    assert_error(response, 403, "FORBIDDEN", NOT_AUTHORIZED, SUBMIT_ID)
    assert submit(client, admin, CH_A, tag, requestedBy="admin-a").status_code == 200


# ---- batches ---------------------------------------------------------------------------------------
def test_mentor_only_for_batches_they_mentor(api: LiveApi, client: httpx.Client, tag: str) -> None:
    mentor = api.token(CH_A, "COURSE_MENTOR", user=MENTOR_1)
    assert submit(client, mentor, CH_A, tag, config={"batchId": BA1}).status_code == 200
    assert_error(
        submit(client, mentor, CH_A, tag, config={"batchId": BA2}),
        403,
        "FORBIDDEN",
        NOT_AUTHORIZED,
        SUBMIT_ID,
    )
    assert_error(
        submit(client, mentor, CH_A, tag, config={"batchFilter": [BA1, BA2]}),
        403,
        "FORBIDDEN",
        NOT_AUTHORIZED,
        SUBMIT_ID,
    )
    assert_error(
        submit(client, mentor, CH_A, tag, config={"searchFilter": {"channel": CH_A}}),
        403,
        "FORBIDDEN",
        NOT_AUTHORIZED,
        SUBMIT_ID,
    )
    # A batch with no mentors and no hierarchy: the org admin may, the mentor may not.
    assert_error(
        submit(client, mentor, CH_A, tag, config={"batchId": BN1}),
        403,
        "FORBIDDEN",
        NOT_AUTHORIZED,
        SUBMIT_ID,
    )


def test_mentor_of_a_batch_in_another_channels_course_is_refused(
    api: LiveApi, client: httpx.Client, tag: str
) -> None:
    # MENTOR_1 is listed on bb1, but bb1's course belongs to channel B, and the token is channel A's.
    mentor = api.token(CH_A, "COURSE_MENTOR", user=MENTOR_1)
    response = submit(client, mentor, CH_A, tag, config={"batchId": BB1})
    assert_error(response, 403, "FORBIDDEN", NOT_AUTHORIZED, SUBMIT_ID)


def test_org_admin_only_for_their_channels_courses(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin_a = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    assert submit(client, admin_a, CH_A, tag, config={"batchFilter": [BA1, BA2]}).status_code == 200
    assert_error(
        submit(client, admin_a, CH_A, tag, config={"batchFilter": [BA1, BB1]}),
        403,
        "FORBIDDEN",
        NOT_AUTHORIZED,
        SUBMIT_ID,
    )


def test_search_filter_must_name_the_callers_channel(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    assert submit(client, admin, CH_A, tag, config={"searchFilter": {"channel": CH_A}}).status_code == 200
    for search in ({"channel": CH_B}, {"identifier": "do_course_b"}, {"channel": [CH_A, CH_B]}):
        response = submit(client, admin, CH_A, tag, config={"searchFilter": search})
        assert_error(response, 403, "FORBIDDEN", NOT_AUTHORIZED, SUBMIT_ID)


def test_user_without_a_reporting_role_is_refused(api: LiveApi, client: httpx.Client, tag: str) -> None:
    with api.store.engine.begin() as conn:
        token = api.token(CH_A, "ORG_ADMIN", user="demoted")
        conn.execute(api.tokens.t.update().where(api.tokens.t.c.user_id == "demoted").values(roles="PUBLIC"))
    assert_error(submit(client, token, CH_A, tag), 403, "FORBIDDEN", NOT_AUTHORIZED, SUBMIT_ID)


# ---- isolation ---------------------------------------------------------------------------------------
def test_channels_never_see_each_others_jobs(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin_a = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    admin_b = api.token(CH_B, "ORG_ADMIN", user="admin-b")
    job_a = submit(client, admin_a, CH_A, tag).json()["result"]
    job_b = submit(client, admin_b, CH_B, tag, config={"batchId": BB1}).json()["result"]
    assert job_a["tag"] == f"{tag}:{CH_A}" and job_b["tag"] == f"{tag}:{CH_B}"

    listed_b = client.get(f"/dataset/v1/request/list/{tag}", headers=headers(admin_b, CH_B)).json()["result"]
    assert [j["requestId"] for j in listed_b["jobs"]] == [job_b["requestId"]]
    read = client.get(
        f"/dataset/v1/request/read/{tag}",
        params={"requestId": job_a["requestId"]},
        headers=headers(admin_b, CH_B),
    ).json()
    assert read["params"]["errmsg"] == "no job available with the given request_id and tag"
    # The full tag of another channel does not reach its job either.
    read = client.get(
        f"/dataset/v1/request/read/{tag}:{CH_A}",
        params={"requestId": job_a["requestId"]},
        headers=headers(admin_b, CH_B),
    ).json()
    assert read["result"] is None

    service_b = api.token(CH_B, "SERVICE", user="cqube-b")
    found = client.post(
        "/request/search",
        json={"request": {"filters": {"status": "SUBMITTED"}, "limit": 1000}},
        headers=headers(service_b),
    ).json()["result"]
    assert found["jobs"] and {j["requestedChannel"] for j in found["jobs"]} == {CH_B}
    other = client.post(
        "/request/search", json={"request": {"filters": {"channel": CH_A}}}, headers=headers(service_b)
    )
    assert_error(other, 403, "FORBIDDEN", NOT_AUTHORIZED, "ekstep.analytics.dataset.request.search")
    wrong_header = client.post(
        "/request/search",
        json={"request": {"filters": {"status": "SUBMITTED"}}},
        headers=headers(service_b, CH_A),
    )
    assert wrong_header.status_code == 403


def test_mentors_see_only_their_batches_jobs(api: LiveApi, client: httpx.Client, tag: str) -> None:
    admin = api.token(CH_A, "ORG_ADMIN", user="admin-a")
    mentor_1 = api.token(CH_A, "COURSE_MENTOR", user=MENTOR_1)
    mentor_2 = api.token(CH_A, "COURSE_MENTOR", user=MENTOR_2)
    on_a1 = submit(client, admin, CH_A, tag, config={"batchId": BA1}).json()["result"]
    on_a2 = submit(client, admin, CH_A, tag, dataset="response-exhaust", config={"batchId": BA2}).json()[
        "result"
    ]
    by_search = submit(
        client,
        admin,
        CH_A,
        tag,
        dataset="userinfo-exhaust",
        config={"searchFilter": {"channel": CH_A}},
        encryptionKey="Key12345",
    ).json()["result"]

    def listed(token: str) -> set[str]:
        result = client.get(f"/dataset/v1/request/list/{tag}", headers=headers(token, CH_A)).json()["result"]
        assert result["count"] == len(result["jobs"])
        return {j["requestId"] for j in result["jobs"]}

    assert listed(admin) == {on_a1["requestId"], on_a2["requestId"], by_search["requestId"]}
    assert listed(mentor_1) == {on_a1["requestId"]}
    assert listed(mentor_2) == {on_a2["requestId"]}

    read = client.get(
        f"/dataset/v1/request/read/{tag}",
        params={"requestId": on_a2["requestId"]},
        headers=headers(mentor_1, CH_A),
    )
    assert_error(read, 403, "FORBIDDEN", NOT_AUTHORIZED, "ekstep.analytics.dataset.request.info")
    read = client.get(
        f"/dataset/v1/request/read/{tag}",
        params={"requestId": on_a1["requestId"]},
        headers=headers(mentor_1, CH_A),
    )
    assert read.status_code == 200 and read.json()["result"]["requestId"] == on_a1["requestId"]

    search = client.post(
        "/request/search",
        json={"request": {"filters": {"status": "SUBMITTED"}}},
        headers=headers(mentor_1, CH_A),
    )
    assert_error(search, 403, "FORBIDDEN", NOT_AUTHORIZED, "ekstep.analytics.dataset.request.search")


# ---- the token command -------------------------------------------------------------------------------
def test_token_create_command(
    api: LiveApi, client: httpx.Client, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exhaust.api.cli import token_app
    from exhaust.settings import get_settings

    for name, value in api.settings.model_dump(mode="json").items():
        if isinstance(value, str | int | float) and value is not None:
            monkeypatch.setenv(f"EXHAUST_{name.upper()}", str(value))
    monkeypatch.setenv("EXHAUST_SIGNING_SECRET", "api-test-signing-secret")
    get_settings.cache_clear()
    try:
        created = invoke(
            token_app, ["create", "--channel", CH_A, "--role", "COURSE_MENTOR", "--user", MENTOR_1]
        )
        assert created.exit_code == 0, created.output
        token = created.stdout.strip()
        assert token.startswith("exh_") and len(token) > 40
        assert submit(client, token, CH_A, tag).json()["result"]["requestedBy"] == MENTOR_1

        listed = invoke(token_app, ["list"])
        assert listed.exit_code == 0 and token.split("_")[1] in listed.stdout and token not in listed.stdout

        for bad, message in (
            (["--role", "ORG_ADMIN"], "a user token (ORG_ADMIN, COURSE_MENTOR) needs --user"),
            (["--role", "ROOT", "--user", "u"], "unknown role ROOT: use ORG_ADMIN, COURSE_MENTOR, SERVICE"),
            (
                ["--role", "SERVICE", "--role", "ORG_ADMIN", "--user", "u"],
                "a SERVICE token cannot also have user roles",
            ),
        ):
            failed = invoke(token_app, ["create", "--channel", CH_A, *bad])
            assert failed.exit_code == 1 and message in failed.stderr

        revoked = invoke(token_app, ["revoke", token.split("_")[1]])
        assert revoked.exit_code == 0
        time.sleep(api.settings.api_token_cache_seconds + 0.2)
        assert submit(client, token, CH_A, tag).status_code == 401
    finally:
        get_settings.cache_clear()
