"""The OpenAPI document is the API's contract, checked against a real `exhaust serve` (issue 14).

Schemathesis generates requests from the document (schema-valid and schema-invalid ones, a bounded
number per operation) and checks every answer: no 5xx, every response as declared (status, headers,
envelope schema), schema-invalid requests refused, 405 with Allow, and schema-valid requests accepted.
Schema-invalid requests are not required to be refused: the server accepts more than the document
promises (extra fields that Sunbird's clients send). A schema-valid request may still be refused for what it names (a batch that does not exist, a retired
collection): that 400 is declared, and `valid_data_refused_only_for_what_it_names` checks that this is
the only reason a well-formed request ever gets a 400.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from exhaust.dashboard.session import SESSION_COOKIE
from exhaust.emission.tables import open_cqube_engine
from exhaust.emission.tokens import Credentials as Credentials_
from tests.api.data import CH_A
from tests.api.live import LiveApi

#: Examples per operation and generation mode: bounded, so the whole module stays near a minute.
EXAMPLES = int(os.environ.get("EXHAUST_CONTRACT_EXAMPLES", "5"))
#: The 400s a well-formed request can get: it names what does not exist (batches, only retired ones, a
#: bucket or data source), or its parameters disagree in a way JSON Schema cannot state (a date range).
SEMANTIC_REFUSALS = re.compile(
    r"^(batch .+ not found|The request is made for retired collection"
    r"|Bad request, not cqube bucket - validate the bucket name|unknown data-source folder .+"
    r"|.+ is not a file of a known data source|from must not be after to|the date range must be at most \d+ days"
    r"|no batch ids were emitted: .+)$"
)
#: The operations the document must hold: every route of the app but its HTML pages and the stand-ins for
#: object-store links (docs/api.md).
OPERATIONS = 24


@dataclass(frozen=True)
class Credentials:
    """Valid credentials for each security scheme of the document (telemetry takes the bearer token)."""

    bearer: str
    emission: str
    session: str

    def headers(self, operation) -> dict[str, str]:
        schemes = {
            name for requirement in operation.definition.raw.get("security", []) for name in requirement
        }
        if "emissionJwt" in schemes:
            return {"Authorization": f"Bearer {self.emission}"}
        if schemes == {"sessionCookie"}:
            return {"Cookie": f"{SESSION_COOKIE}={self.session}"}
        return {"Authorization": f"Bearer {self.bearer}"}


@pytest.fixture(scope="module")
def admin_token(api: LiveApi) -> str:
    return api.token(CH_A, "ORG_ADMIN", user="admin-a")


@pytest.fixture(scope="module")
def credentials(api: LiveApi, admin_token: str) -> Credentials:
    emission = Credentials_(open_cqube_engine(api.settings)).create("contract-admin", admin=True)
    with httpx.Client(base_url=api.url, timeout=30) as client:
        form = client.get("/dashboard/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        answer = client.post("/dashboard/sign-in", data={"csrf_token": csrf, "token": admin_token})
        assert answer.status_code == 303, answer.text
        session = client.cookies[SESSION_COOKIE]
    return Credentials(admin_token, emission, session)


def message_of(response) -> str:
    """The one sentence of an error: Sunbird's `params.errmsg` or cQube's `message`."""
    try:
        found = response.json()
    except ValueError:
        return ""
    if not isinstance(found, dict):
        return ""
    return str(found.get("message") or (found.get("params") or {}).get("errmsg") or "")


def valid_data_refused_only_for_what_it_names(response, case) -> None:
    """A schema-valid request is accepted (2xx, 3xx), refused for who asks (401, 403), not found (404),
    or refused for what it names (400 with one of SEMANTIC_REFUSALS); never refused as malformed."""
    status = response.status_code
    if status < 400 or status in (401, 403, 404, 503):
        return
    message = message_of(response) if status == 400 else ""
    assert status == 400 and SEMANTIC_REFUSALS.match(message), (
        f"{case.method} {case.formatted_path}: a schema-valid request was refused: {status} {response.text[:300]}"
    )


def fuzz(operation, mode: GenerationMode, credentials: Credentials, calls: list[int]) -> None:
    """Schemathesis' bounded examples of one operation, with valid credentials for its security scheme."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
              derandomize=True)  # fmt: skip
    def check(case) -> None:
        headers = credentials.headers(operation)
        if mode.is_positive and case.headers and "X-Channel-ID" in case.headers:
            headers["X-Channel-ID"] = CH_A  # the token's channel: calls get past the channel check
        # Positive data: the acceptance check below replaces schemathesis' own (it tells why a 400 is
        # legitimate). Negative data: the server is lenient where Sunbird's clients send more than the
        # document promises (extra fields), so only "no 5xx" and "answers as declared" apply there.
        excluded = [positive_data_acceptance] if mode.is_positive else [negative_data_rejection]
        response = case.call_and_validate(headers=headers, excluded_checks=excluded, timeout=30)
        calls.append(response.status_code)
        if mode.is_positive:
            valid_data_refused_only_for_what_it_names(response, case)

    try:
        check()
    except Unsatisfiable:
        # Nothing of this operation can be made schema-invalid (no parameters, no body).
        assert not mode.is_positive and not operation.body and not operation.query, operation.label


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_its_contract(api: LiveApi, credentials: Credentials, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == OPERATIONS
    calls: list[int] = []
    failures = []
    for operation in operations:
        try:
            fuzz(operation, mode, credentials, calls)
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {exc}"[:2000])
    assert failures == [], "\n".join(failures)
    assert len(calls) >= len(operations) and all(status < 500 for status in calls)


def test_the_document_declares_the_bearer_scheme_and_no_422(api: LiveApi) -> None:
    document = httpx.get(f"{api.url}/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A token from `exhaust token create`.",
    }  # fmt: skip
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert operations and all("422" not in op["responses"] for op in operations)
    submit = document["paths"]["/dataset/v1/request/submit"]["post"]
    assert set(submit["responses"]) == {"200", "400", "401", "403", "413", "415", "503"}
    assert submit["security"] == [{"bearerAuth": []}]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmitBody"
    }
    error = document["components"]["schemas"]["ErrorEnvelope"]
    assert set(error["required"]) == {"id", "ver", "ts", "params", "responseCode", "result"}


def test_a_wrong_method_is_405_with_allow(api: LiveApi) -> None:
    response = httpx.delete(f"{api.url}/dataset/v1/request/submit")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["params"]["errmsg"] == "DELETE is not allowed on this endpoint."


def test_the_docs_page_needs_no_network(api: LiveApi) -> None:
    page = httpx.get(f"{api.url}/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert not re.search(r"(src|href)=['\"]https?://", page.text)  # nothing from a CDN
    for asset in re.findall(r"(?:src|href)=['\"](/docs-assets/[^'\"]+)['\"]", page.text):
        fetched = httpx.get(f"{api.url}{asset}")
        assert fetched.status_code == 200 and len(fetched.content) > (
            1000 if asset.endswith(("js", "css")) else 100
        )
