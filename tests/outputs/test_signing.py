"""Signed local download links: HMAC over key and expiry, a persisted secret, Sunbird's legacy URL forms."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from exhaust.outputs.signing import (
    ExpiredDownloadLink,
    InvalidDownloadLink,
    UrlSigner,
    load_signing_secret,
    local_download_url,
    object_key,
    verify_download,
)
from exhaust.outputs.storage import Storage
from exhaust.settings import Settings

KEY = "progress-exhaust/ABC/b1_progress_20240101.zip"


def parts(url: str) -> tuple[str, str, str]:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return parsed.path.removeprefix("/download/"), query["expires"][0], query["signature"][0]


def test_round_trip_and_tampering() -> None:
    url = local_download_url(KEY, expires=2_000_000_000, secret=b"s")
    assert url.startswith(f"/download/{KEY}?expires=2000000000&signature=")
    key, expires, sig = parts(url)
    verify_download(key, expires, sig, secret=b"s", now=1_999_999_999)
    for bad in [
        (key.replace("b1", "b2"), expires, sig),
        (key, str(int(expires) + 1), sig),
        (key, expires, sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        (key, "soon", sig),
        ("../etc/passwd", expires, sig),
    ]:
        with pytest.raises(InvalidDownloadLink):
            verify_download(*bad, secret=b"s", now=1_999_999_999)
    with pytest.raises(InvalidDownloadLink):
        verify_download(key, expires, sig, secret=b"other", now=1_999_999_999)


def test_expiry() -> None:
    key, expires, sig = parts(local_download_url(KEY, expires=1000, secret=b"s"))
    verify_download(key, expires, sig, secret=b"s", now=999)
    with pytest.raises(ExpiredDownloadLink, match="expired"):
        verify_download(key, expires, sig, secret=b"s", now=1000)


def test_base_url_prefix() -> None:
    url = local_download_url(KEY, expires=5, secret=b"s", base_url="https://reports.example.org/")
    assert url.startswith(f"https://reports.example.org/download/{KEY}?")


def test_generated_secret_is_private_persistent_and_not_in_settings_repr(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_signing_secret(settings)
    assert len(first) == 64 and first == load_signing_secret(Settings(data_dir=tmp_path))
    mode = stat.S_IMODE(os.stat(tmp_path / "signing-secret").st_mode)
    assert mode == 0o600
    configured = Settings(data_dir=tmp_path, signing_secret="from-env")
    assert load_signing_secret(configured) == b"from-env"
    assert "from-env" not in repr(configured) and "from-env" not in str(configured.model_dump())


def test_signer_uses_the_configured_expiry(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, signing_secret="k", url_expiry_minutes=30)
    signer = UrlSigner(Storage(str(tmp_path / "store")), settings)
    signed = signer.sign(KEY, now=1_000_000)
    assert signed.expires_at == 1_000_000 + 1800
    key, expires, sig = parts(signed.url)
    assert (key, expires) == (KEY, "1001800")
    verify_download(key, expires, sig, secret=b"k", now=1_000_001)


def test_a_signer_given_a_storage_opener_opens_it_on_the_first_link_only(tmp_path: Path) -> None:
    """`exhaust status` of a job without files never opens the storage nor makes the secret file."""
    settings = Settings(data_dir=tmp_path, url_expiry_minutes=30)
    opened: list[Storage] = []

    def opener() -> Storage:
        opened.append(Storage(str(tmp_path / "store")))
        return opened[-1]

    signer = UrlSigner(opener, settings)
    assert signer.expires_at(1_000_000) == 1_001_800
    assert opened == [] and not (tmp_path / "signing-secret").exists()
    first, second = signer.sign(KEY, now=1_000_000), signer.sign(KEY, now=1_000_000)
    assert len(opened) == 1 and signer.storage is opened[0]
    assert first == second == UrlSigner(opened[0], settings).sign(KEY, now=1_000_000)
    key, expires, sig = parts(first.url)
    verify_download(key, expires, sig, secret=load_signing_secret(settings), now=1_000_001)


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        (KEY, KEY),
        (f"https://acct.blob.core.windows.net/reports/{KEY}", KEY),
        (f"https://acct.blob.core.windows.net/reports/{KEY}?sv=1&sig=x", KEY),
        (f"wasb://reports@acct.blob.core.windows.net/{KEY}", KEY),
        (f"s3n://reports/{KEY}", KEY),
    ],
)
def test_object_key_of_stored_urls(stored: str, key: str) -> None:
    assert object_key(stored) == key
