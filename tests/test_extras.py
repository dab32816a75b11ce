"""The core install works without the extras, and using a missing extra says which one to install."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from exhaust.errors import MissingExtra
from exhaust.extras import EXTRAS, require
from tests.reports.test_seed_sample import BATCH, seed_source

ROOT = Path(__file__).resolve().parents[1]
EVERY_EXTRA_MODULE = sorted({module for modules in EXTRAS.values() for module in modules})


def without_extras(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`exhaust ARGS` in a process where no extra's module can be imported (as after `pip install exhaust`)."""
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in EVERY_EXTRA_MODULE)
    code = (
        f"import sys; {blocked}; sys.argv = ['exhaust', *sys.argv[1:]]; from exhaust.cli import main; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_pyproject_extras_are_the_ones_the_code_knows() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) - {"all", "dev"} == set(EXTRAS)
    assert extras["all"] == [f"exhaust[{','.join(EXTRAS)}]"]


def test_a_missing_extra_is_one_sentence_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtra) as caught:
        require("postgres", "a PostgreSQL source")
    assert (
        str(caught.value) == "a PostgreSQL source needs the [postgres] extra: pip install 'exhaust[postgres]'"
    )


def test_the_core_builds_reports_and_runs_jobs_without_any_extra(tmp_path: Path) -> None:
    source = seed_source(tmp_path / "src")
    env = {**os.environ, "EXHAUST_DATA_DIR": str(tmp_path / "data"), "EXHAUST_SOURCE": str(source)}
    out = tmp_path / "progress.csv"
    built = without_extras("report", "progress-exhaust", "--batch", BATCH, "--output", str(out), env=env)
    assert built.returncode == 0, built.stderr
    assert out.read_text(encoding="utf-8").startswith("Collection Id,")
    submitted = without_extras("submit", "progress-exhaust", "--batch", BATCH, env=env)
    assert submitted.returncode == 0, submitted.stderr
    ran = without_extras("worker", "--once", env=env)
    assert ran.returncode == 0 and "1 job(s) processed" in ran.stderr, ran.stderr


@pytest.mark.parametrize(
    ("settings", "args", "extra"),
    [
        ({}, ["report", "progress-exhaust", "--source", "postgresql://u@127.0.0.1/db?schema=s"], "postgres"),
        ({}, ["report", "progress-exhaust", "--source", "cassandra://127.0.0.1/"], "cassandra"),
        ({"EXHAUST_USERS_REDIS_URL": "redis://127.0.0.1:6379/8"}, ["report", "progress-exhaust"], "redis"),
        ({}, ["report", "progress-exhaust", "--engine", "spark"], "spark"),
        ({"EXHAUST_DB_URL": "postgresql://u@127.0.0.1/db"}, ["status", "X"], "postgres"),
        ({"EXHAUST_STORAGE_URL": "s3://bucket/reports"}, ["status", "X"], "s3"),
    ],
)
def test_each_missing_extra_is_named_by_the_cli(
    tmp_path: Path, settings: dict[str, str], args: list[str], extra: str
) -> None:
    source = seed_source(tmp_path / "src")
    env = {
        **os.environ,
        "EXHAUST_DATA_DIR": str(tmp_path / "data"),
        "EXHAUST_SOURCE": str(source),
        **settings,
    }
    if "EXHAUST_STORAGE_URL" in settings:  # a finished request (in SQLite): status signs its file's link
        local = {**env, "EXHAUST_STORAGE_URL": ""}
        queued = without_extras("submit", "progress-exhaust", "--batch", BATCH, env=local)
        assert without_extras("worker", "--once", env=local).returncode == 0
        args = ["status", queued.stdout.strip()]
    report = ["--batch", BATCH, "--output", str(tmp_path / "r.csv")] if args[0] == "report" else []
    done = without_extras(*args, *report, env=env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.endswith(f"needs the [{extra}] extra: pip install 'exhaust[{extra}]'\n"), done.stderr
    assert done.stderr.count("\n") == 1
