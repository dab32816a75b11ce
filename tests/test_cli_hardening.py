"""Issue 14 at the command line: every bad setting, an unreachable store, a folder as --output and a
too-deep hierarchy are one line naming what is wrong, never a traceback (defects 5 and 6)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jobs.test_hardening import deep_course
from tests.reports.test_seed_sample import BATCH, seed_source


def exhaust(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    clean.update({f"EXHAUST_{k.upper()}": v for k, v in env.items()})
    return subprocess.run([sys.executable, "-m", "exhaust", *args], capture_output=True, text=True, timeout=120,
                          env=clean)  # fmt: skip


def assert_one_line(done: subprocess.CompletedProcess, *expected: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("zip_encryption", "rot13", "EXHAUST_ZIP_ENCRYPTION"),
        ("url_expiry_minutes", "0", "EXHAUST_URL_EXPIRY_MINUTES"),
        ("url_expiry_minutes", "soon", "EXHAUST_URL_EXPIRY_MINUTES"),
        ("security_levels", '{"*": {"*": "TOP_SECRET"}}', "EXHAUST_SECURITY_LEVELS"),
        ("security_levels", "{not json", "EXHAUST_SECURITY_LEVELS"),
        ("storage_options", "[1, 2]", "EXHAUST_STORAGE_OPTIONS"),
        ("timezone", "Mars/Olympus_Mons", "EXHAUST_TIMEZONE"),
        ("assessment_content_types", "SelfAssess", "EXHAUST_ASSESSMENT_CONTENT_TYPES"),
        ("db_url", "mysql://x", "EXHAUST_DB_URL"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str, expected: str) -> None:
    done = exhaust("status", "0" * 32, data_dir=str(tmp_path), **{name: value})
    assert_one_line(done, expected)
    assert done.returncode == 2


def test_db_upgrade_with_the_database_unreachable_is_one_line(tmp_path: Path) -> None:
    done = exhaust("db-upgrade", data_dir=str(tmp_path), db_url="postgresql://u:hunter2@127.0.0.1:1/x")
    assert_one_line(done, "the job store postgresql+psycopg://u:***@127.0.0.1:1/x cannot be reached")
    assert "hunter2" not in done.stderr


def test_report_to_a_folder_is_one_line(tmp_path: Path) -> None:
    source = seed_source(tmp_path / "src")
    done = exhaust("report", "progress-exhaust", "--source", f"files:{source}", "--batch", BATCH,
                   "--output", str(tmp_path))  # fmt: skip
    assert_one_line(done, f"--output {tmp_path} is a folder")


def test_a_hierarchy_nested_500_deep_is_one_line_in_the_cli(tmp_path: Path) -> None:
    folder = deep_course(tmp_path / "deep", 500)
    done = exhaust("report", "progress-exhaust", "--source", f"files:{folder}", "--batch", "bd",
                   "--output", str(tmp_path / "out.csv"))  # fmt: skip
    assert_one_line(done, "nested too deeply")
    assert not (tmp_path / "out.csv").exists()


def test_python_m_exhaust_worker_builds_in_its_own_process(tmp_path: Path) -> None:
    """The build process (multiprocessing spawn) imports `exhaust.__main__` without running the CLI again."""
    import json

    from tests.jobs.helpers import make_source

    make_source(tmp_path / "source")
    env = {"data_dir": str(tmp_path / "data"), "source": str(tmp_path / "source"),
           "storage_url": str(tmp_path / "storage")}  # fmt: skip
    rid = exhaust("submit", "progress-exhaust", "--batch", "b1", "--channel", "ch-1", **env).stdout.strip()
    done = exhaust("worker", "--once", **env)
    assert done.returncode == 0, done.stderr
    status = json.loads(exhaust("status", rid, **env).stdout)
    assert status["status"] == "SUCCESS", status["statusMessage"]
