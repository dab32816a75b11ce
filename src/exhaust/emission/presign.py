"""Upload and download links of the three areas: S3 presigned POST / GET, or HMAC-signed API links.

On S3 (or any endpoint botocore speaks to) `upload-url` answers with a presigned POST whose policy has
a `content-length-range` condition, so the store itself refuses a file over the limit. On a local
folder the API plays the store: the same `{"url", "fields"}` answer, where `fields` carry a policy
(key, expiry, size limit) and its HMAC, and `POST /data/upload` checks both before it writes the file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

from exhaust.errors import BadInput
from exhaust.outputs.storage import Storage


def _s3_client(storage: Storage) -> Any:
    """A botocore S3 client with the area's own credentials and endpoint (made once per area)."""
    client = getattr(storage, "_exhaust_s3_client", None)
    if client is None:
        client = _new_s3_client(storage)
        storage._exhaust_s3_client = client  # type: ignore[attr-defined]
    return client


def _new_s3_client(storage: Storage) -> Any:
    import botocore.session

    options = dict(storage.fs.storage_options) if hasattr(storage.fs, "storage_options") else {}
    client_kwargs = dict(options.get("client_kwargs") or {})
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        aws_access_key_id=options.get("key"),
        aws_secret_access_key=options.get("secret"),
        aws_session_token=options.get("token"),
        endpoint_url=options.get("endpoint_url") or client_kwargs.get("endpoint_url"),
        region_name=client_kwargs.get("region_name") or options.get("region_name"),
    )


def _bucket_and_key(storage: Storage, key: str) -> tuple[str, str]:
    bucket, _, prefix = storage.root.split("://", 1)[-1].partition("/")
    return bucket, f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key


def s3_presigned_post(storage: Storage, key: str, max_bytes: int, expires: int) -> dict[str, Any]:
    bucket, full_key = _bucket_and_key(storage, key)
    answer = _s3_client(storage).generate_presigned_post(
        bucket, full_key, Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=expires
    )
    return {"url": answer["url"], "fields": answer["fields"]}


def s3_presigned_get(storage: Storage, key: str, expires: int) -> str:
    bucket, full_key = _bucket_and_key(storage, key)
    return str(
        _s3_client(storage).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": full_key}, ExpiresIn=expires
        )
    )


def _sign(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def local_upload_form(secret: bytes, url: str, key: str, max_bytes: int, expires: int) -> dict[str, Any]:
    policy = {"key": key, "expires": int(time.time()) + expires, "max_bytes": max_bytes}
    encoded = base64.urlsafe_b64encode(json.dumps(policy, sort_keys=True).encode()).decode()
    return {"url": url, "fields": {"key": key, "policy": encoded, "signature": _sign(secret, encoded)}}


def check_upload_form(secret: bytes, fields: dict[str, str]) -> tuple[str, int]:
    """The key and size limit of a local upload whose policy is signed by us and not expired."""
    encoded, signature = fields.get("policy", ""), fields.get("signature", "")
    if not encoded or not hmac.compare_digest(_sign(secret, encoded), signature):
        raise BadInput("Invalid according to Policy: the policy signature does not match")
    try:
        policy = json.loads(base64.urlsafe_b64decode(encoded.encode()))
    except ValueError:
        raise BadInput("Invalid according to Policy: unreadable policy") from None
    if policy.get("key") != fields.get("key"):
        raise BadInput("Invalid according to Policy: the key is not the one the policy allows")
    if int(policy.get("expires", 0)) < time.time():
        raise BadInput("Invalid according to Policy: Policy expired")
    return str(policy["key"]), int(policy["max_bytes"])


def local_download_link(secret: bytes, base: str, area: str, key: str, expires: int) -> str:
    until = int(time.time()) + expires
    signature = _sign(secret, f"{area}\n{key}\n{until}")
    return f"{base}/{area}/{quote(key)}?expires={until}&signature={signature}"


def check_download_link(secret: bytes, area: str, key: str, expires: str, signature: str) -> None:
    if not expires.isdigit() or not hmac.compare_digest(
        _sign(secret, f"{area}\n{key}\n{expires}"), signature
    ):
        raise BadInput("This download link is not valid.")
    if int(expires) < time.time():
        raise BadInput("This download link has expired.")
