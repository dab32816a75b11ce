"""The emission API under /data on a real `exhaust serve`: cQube's shapes, Kong-style JWTs, safe keys."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import jwt
import pytest

from exhaust.emission.presign import s3_presigned_post
from exhaust.outputs.storage import Storage
from tests.jobs.helpers import moto_s3


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_stock_client_request_gets_a_presigned_upload_and_the_upload_lands(local_api, credentials):
    token = credentials.create("state-team")
    # Exactly what cQube's client.py sends: form-encoded filename, Authorization: Bearer.
    answer = httpx.post(
        f"{local_api.url}/data/upload-url",
        headers=bearer(token),
        data={"filename": "school_master/school_mst.zip"},
    )
    assert answer.status_code == 200
    body = answer.json()
    key = body["fields"]["key"]
    assert key.startswith("school_master/school_mst_") and key.endswith(".zip")
    stored = httpx.post(body["url"], data=body["fields"], files={"file": ("school_mst.zip", b"PK-bytes")})
    assert stored.status_code == 204
    emitted = Path(local_api.settings.data_dir) / "cqube" / "emission" / key
    assert emitted.read_bytes() == b"PK-bytes"
    # JSON works too, and two uploads of one name in the same second get different keys.
    again = [
        httpx.post(
            f"{local_api.url}/data/upload-url",
            headers=bearer(token),
            json={"filename": "school_master/school_mst.zip"},
        )
        for _ in range(2)
    ]
    keys = {a.json()["fields"]["key"] for a in again}
    assert len(keys) == 2 and key not in keys


@pytest.mark.parametrize(
    "filename",
    ["../school_master/x.zip", "school_master/../../etc/passwd", "/etc/passwd", "C:/x/school_mst.zip",
     "school_master\\school_mst.zip", "", "   ", "unknown_dir/school_mst.zip", "school_master/other.zip",
     "school_master/a/school_mst.zip"],
)  # fmt: skip
def test_traversal_absolute_empty_and_unknown_keys_are_refused(local_api, credentials, filename):
    token = credentials.create("keys")
    answer = httpx.post(
        f"{local_api.url}/data/upload-url", headers=bearer(token), data={"filename": filename}
    )
    assert answer.status_code == 400
    assert answer.json()["message"]


def test_absent_malformed_wrong_secret_expired_and_revoked_tokens_get_401_json(local_api, credentials):
    url = f"{local_api.url}/data/upload-url"
    form = {"filename": "district_master/district_mst.zip"}
    credentials.import_credential("kong-imported", "kong-key-1", "kong-secret-1-of-at-least-32-bytes-long")
    # A token as cQube's admin console minted it: {"iss": <kong key>}, HS256, no expiry.
    cqube_token = jwt.encode(
        {"iss": "kong-key-1"}, "kong-secret-1-of-at-least-32-bytes-long", algorithm="HS256"
    )
    assert httpx.post(url, headers=bearer(cqube_token), data=form).status_code == 200
    cases = {
        "absent": {},
        "not bearer": {"Authorization": f"Basic {cqube_token}"},
        "malformed": bearer("not.a.jwt"),
        "wrong secret": bearer(
            jwt.encode({"iss": "kong-key-1"}, "guessed-secret-of-at-least-32-bytes!", algorithm="HS256")
        ),
        "unknown iss": bearer(
            jwt.encode({"iss": "nobody"}, "kong-secret-1-of-at-least-32-bytes-long", algorithm="HS256")
        ),
        "expired": bearer(
            jwt.encode(
                {"iss": "kong-key-1", "exp": int(time.time()) - 10},
                "kong-secret-1-of-at-least-32-bytes-long",
                algorithm="HS256",
            )
        ),
    }
    for name, headers in cases.items():
        answer = httpx.post(url, headers=headers, data=form)
        assert answer.status_code == 401, name
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["message"], name
    assert credentials.revoke("kong-imported") == 1
    revoked = httpx.post(url, headers=bearer(cqube_token), data=form)
    assert revoked.status_code == 401 and revoked.json() == {"message": "This token has been revoked"}


def test_an_emitter_token_on_admin_endpoints_gets_403_and_an_admin_lists_and_downloads(
    local_api, credentials
):
    emitter, admin = credentials.create("emitter"), credentials.create("console", admin=True, expires_days=1)
    base = f"{local_api.url}/data"
    for method, path in [("GET", "list_s3_buckets"), ("POST", "list_s3_files"), ("POST", "download_uri"),
                         ("POST", "download_url"), ("POST", "download"), ("GET", "log_summary")]:  # fmt: skip
        answer = httpx.request(method, f"{base}/{path}", headers=bearer(emitter), json={"bucket": "emission"})
        assert answer.status_code == 403, path
        assert answer.json() == {"message": "This endpoint needs an admin consumer."}
    buckets = httpx.get(f"{base}/list_s3_buckets", headers=bearer(admin)).json()
    assert buckets == {"input": "input", "output": "output", "emission": "emission"}
    presign = httpx.post(
        f"{base}/upload-url", headers=bearer(emitter), data={"filename": "block_master/block_mst.zip"}
    ).json()
    httpx.post(
        presign["url"], data=presign["fields"], files={"file": ("b.zip", b"block-bytes")}
    ).raise_for_status()
    key = presign["fields"]["key"]
    listed = httpx.post(f"{base}/list_s3_files", headers=bearer(admin), json={"bucket": "emission"}).json()
    assert key in [item["Key"] for item in listed["Contents"]]
    assert (
        httpx.post(f"{base}/list_s3_files", headers=bearer(admin), json={"bucket": "elsewhere"}).status_code
        == 400
    )
    links = httpx.post(
        f"{base}/download_uri", headers=bearer(admin), data={"bucket": "emission", "filename": [key]}
    ).json()
    assert httpx.get(links[key]).content == b"block-bytes"
    link = httpx.post(
        f"{base}/download_url", headers=bearer(admin), json={"bucket": "emission", "filename": key}
    ).text
    assert httpx.get(link).content == b"block-bytes"
    assert httpx.get(link.replace("signature=", "signature=0")).status_code == 403
    direct = httpx.post(
        f"{base}/download", headers=bearer(admin), json={"bucket": "emission", "filename": key}
    )
    assert direct.content == b"block-bytes" and "attachment" in direct.headers["content-disposition"]
    missing = httpx.post(
        f"{base}/download", headers=bearer(admin), json={"bucket": "emission", "filename": "../x"}
    )
    assert missing.status_code == 400


def test_an_upload_over_the_limit_is_refused_by_the_stores_policy(local_api, credentials):
    token = credentials.create("big")
    presign = httpx.post(
        f"{local_api.url}/data/upload-url", headers=bearer(token), data={"filename": "diksha/diksha_tpd.zip"}
    ).json()
    too_big = b"x" * (2 * 1024 * 1024 + 1)
    refused = httpx.post(presign["url"], data=presign["fields"], files={"file": ("t.zip", too_big)})
    assert refused.status_code == 400
    assert refused.json()["message"] == "Your proposed upload exceeds the maximum allowed size"
    forged = dict(presign["fields"], key="diksha/other.zip")
    assert httpx.post(presign["url"], data=forged, files={"file": ("t.zip", b"x")}).status_code == 403
    emission = Path(local_api.settings.data_dir) / "cqube" / "emission"
    assert not (emission / presign["fields"]["key"]).exists()
    assert not list((emission / ".incoming").glob("*"))  # nothing half-written left behind


def test_the_s3_presigned_post_carries_the_size_condition_and_lands_in_the_bucket():
    # moto does not evaluate POST policies, so the condition S3 enforces is checked in the policy itself.
    with moto_s3("cqube-emission") as options:
        storage = Storage("s3://cqube-emission/emitted", options)
        answer = s3_presigned_post(storage, "school_master/s.zip", 1234, 3600)
        policy = json.loads(base64.b64decode(answer["fields"]["policy"]))
        assert ["content-length-range", 1, 1234] in policy["conditions"]
        assert answer["fields"]["key"] == "emitted/school_master/s.zip"
        httpx.post(answer["url"], data=answer["fields"], files={"file": ("s.zip", b"zip")}).raise_for_status()
        assert storage.list() == ["school_master/s.zip"]
