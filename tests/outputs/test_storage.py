"""Storage: keys are validated, publication is atomic, S3 works through moto's server on loopback."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from exhaust.errors import BadInput
from exhaust.outputs.storage import INCOMING, Storage, open_storage, validate_key
from exhaust.settings import Settings
from tests.jobs.helpers import moto_s3


@pytest.mark.parametrize(
    "key", ["", "/abs/x.zip", "a/../b.zip", "a//b", "..", "a/./b", "a\\b", ".hidden/x", "a b"]
)
def test_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(BadInput):
        validate_key(key)


def test_report_keys_are_accepted() -> None:
    key = "progress-exhaust/0F3A/0130929928739635201_progress_20240101.zip"
    assert validate_key(key) == key


def test_local_publish_list_read_delete(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "store"))
    source = tmp_path / "f.zip"
    source.write_bytes(b"x" * 1000)
    assert storage.publish(source, "d/r/one.zip") == 1000
    assert storage.exists("d/r/one.zip") and storage.size("d/r/one.zip") == 1000
    assert storage.read_bytes("d/r/one.zip") == b"x" * 1000
    assert storage.local_path("d/r/one.zip") == tmp_path / "store" / "d/r/one.zip"
    assert (
        storage.list() == ["d/r/one.zip"]
        and storage.list("d/r") == ["d/r/one.zip"]
        and storage.list("zz") == []
    )
    storage.delete("d/r/one.zip")
    assert not storage.exists("d/r/one.zip")
    assert not list((tmp_path / "store" / INCOMING).iterdir())


def test_local_publish_is_atomic(tmp_path: Path) -> None:
    """A reader polling the final path sees nothing, then the whole file: never a prefix of it."""
    storage = Storage(str(tmp_path / "store"))
    big = tmp_path / "big.zip"
    big.write_bytes(os.urandom(64 * 1024 * 1024))
    target = tmp_path / "store" / "k" / "big.zip"
    sizes: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                sizes.add(target.stat().st_size)

    watcher = threading.Thread(target=watch)
    watcher.start()
    storage.publish(big, "k/big.zip")
    time.sleep(0.05)
    done.set()
    watcher.join()
    assert sizes == {64 * 1024 * 1024}


def test_stale_incoming_files_are_cleaned(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "store"))
    incoming = tmp_path / "store" / INCOMING
    incoming.mkdir(parents=True)
    old, fresh = incoming / "old.part", incoming / "fresh.part"
    old.write_bytes(b"1")
    fresh.write_bytes(b"2")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert storage.clean_incoming(3600) == 1
    assert not old.exists() and fresh.exists()
    assert storage.list() == []  # in-flight files are never listed


def test_default_storage_is_a_folder_in_the_data_dir(tmp_path: Path) -> None:
    storage = open_storage(Settings(data_dir=tmp_path, storage_url=""))
    assert storage.is_local and storage.root == str((tmp_path / "reports").resolve())
    with pytest.raises(BadInput):
        storage.sign("a.zip", 60)


def test_s3_publish_list_and_presigned_get(tmp_path: Path) -> None:
    with moto_s3("bucket-1") as options:
        storage = Storage("s3://bucket-1/exhaust", options)
        assert not storage.is_local
        payload = tmp_path / "r.zip"
        payload.write_bytes(b"PK" + os.urandom(5000))
        assert storage.publish(payload, "progress-exhaust/R1/b1_progress_20240101.zip") == 5002
        assert storage.list() == ["progress-exhaust/R1/b1_progress_20240101.zip"]
        assert storage.exists("progress-exhaust/R1/b1_progress_20240101.zip")
        url = storage.sign("progress-exhaust/R1/b1_progress_20240101.zip", 600)
        response = httpx.get(url)
        assert response.status_code == 200 and response.content == payload.read_bytes()
        assert httpx.get(url.split("?")[0]).status_code == 403  # the bucket is private without the signature
