"""A fixture folder per upstream suite, its requests run by the real `exhaust worker` once per module."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from exhaust.jobs.service import open_store
from exhaust.jobs.store import Job, JobStore, today
from exhaust.settings import Settings
from tests.sunbird_parity.fixture_folder import exhaust

SALT = "SunBird"  # application.conf's sunbird_encryption_key


@dataclass
class Deployment:
    """One folder source, one job store, one storage folder: what an operator configures."""

    root: Path
    env: dict[str, str]
    store: JobStore

    def job(self, request_id: str) -> Job:
        found = self.store.get(request_id)
        assert found is not None
        return found

    def rows_of(self, key: str, password: str | None) -> list[dict]:
        with zipfile.ZipFile(self.root / "storage" / key) as archive:
            (name,) = archive.namelist()
            text = archive.read(name, pwd=password.encode() if password else None).decode("utf-8")
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def run_worker(self) -> None:
        done = exhaust("worker", "--once", env=self.env)
        assert done.returncode == 0, done.stderr


def deployment(root: Path, source: Path, **extra: str) -> Deployment:
    env = {
        "EXHAUST_SOURCE": str(source),
        "EXHAUST_DB_URL": f"sqlite:///{root / 'jobs.sqlite3'}",
        "EXHAUST_STORAGE_URL": str(root / "storage"),
        "EXHAUST_DATA_DIR": str(root / "data"),
        "EXHAUST_SIGNING_SECRET": "parity-secret",
        "EXHAUST_SUNBIRD_ENCRYPTION_KEY": SALT,
        "EXHAUST_RETRY_BACKOFF_SECONDS": "0",
        **extra,
    }
    settings = Settings(
        db_url=env["EXHAUST_DB_URL"], storage_url=env["EXHAUST_STORAGE_URL"], data_dir=root / "data"
    )
    return Deployment(root, env, open_store(settings))


def file_date() -> str:
    """`yyyyMMdd` of today in the default time zone (IST), as Sunbird names files."""
    return today("Asia/Kolkata").strftime("%Y%m%d")


def rows_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


Submit = Callable[..., Job]


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sunbird-parity")
