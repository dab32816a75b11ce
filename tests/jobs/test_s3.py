"""The whole lifecycle against S3 (moto's server on loopback): zips land in the bucket, links are presigned."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from exhaust.jobs.service import open_signer, open_store
from exhaust.jobs.store import SUCCESS
from exhaust.jobs.views import job_response
from exhaust.jobs.worker import Worker
from exhaust.outputs.storage import open_storage
from tests.jobs.helpers import make_settings, make_source, moto_s3, source_opener, stand_in_builder


@pytest.fixture(scope="module")
def s3_options():
    with moto_s3("exhaust-reports") as options:
        yield options


def test_request_ends_as_a_zip_in_s3_with_a_presigned_link(
    tmp_path: Path, s3_options: dict, table_name: str
) -> None:
    make_source(tmp_path / "source")
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", table_name,
        storage_url="s3://exhaust-reports/reports", storage_options=s3_options, url_expiry_minutes=15,
    )  # fmt: skip
    store, storage = open_store(settings), open_storage(settings)
    job = store.submit("userinfo-exhaust", {"batchFilter": ["b1", "b2"]}, tag="t", channel="ch-1",
                       encryption_key="z1p")[0]  # fmt: skip
    Worker(
        store, storage, settings, source=source_opener(tmp_path / "source"), builder=stand_in_builder()
    ).run(once=True)
    done = store.get(job.request_id)
    assert done.status == SUCCESS
    assert storage.list() == sorted(done.download_urls)
    assert all(
        k.startswith(f"userinfo-exhaust/{job.request_id}/") and "_userinfo_" in k for k in done.download_urls
    )

    before = time.time()
    view = job_response(done, open_signer(settings, storage))
    for url, key in zip(view["downloadUrls"], done.download_urls, strict=True):
        parsed = urlparse(url)
        assert parsed.hostname == "127.0.0.1" and parsed.path == f"/exhaust-reports/reports/{key}"
        expires = int(parse_qs(parsed.query)["Expires"][0])
        assert before + 15 * 60 - 5 <= expires <= time.time() + 15 * 60 + 5
        response = httpx.get(url)
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
            name = zf.namelist()[0]
            assert name == key.rsplit("/", 1)[1].replace(".zip", ".csv")
            with pytest.raises(RuntimeError, match="password"):
                zf.read(name)
            assert zf.read(name, pwd=b"z1p").startswith(b'"User UUID"')
