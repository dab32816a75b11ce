"""The CLI starts light: loading it (for `--help`, `--version`, any command's help) imports no engine,
database, web or Spark library; each command imports those when it runs. Timings are in bench/cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from exhaust import __version__

HEAVY = (
    "ibis",
    "duckdb",
    "pyarrow",
    "pandas",
    "fastapi",
    "uvicorn",
    "pyspark",
    "sqlalchemy",
    "alembic",
    "pydantic",
)


def loaded_after(code: str, env: dict[str, str] | None = None, *, whole: bool = False) -> set[str]:
    """Top-level packages (`whole`: all modules) in sys.modules after running `code` in a fresh
    interpreter with `env` added to the environment."""
    names = "sys.modules" if whole else "{m.split('.')[0] for m in sys.modules}"
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({names})))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert loaded_after("import exhaust.cli") & set(HEAVY) == set()


def test_help_of_the_core_commands_does_not_even_load_pydantic() -> None:
    """Settings are read when a command runs; an unused group `--help` skips Typer's Pydantic coercion."""
    for args in (
        ["--help"],
        ["report", "--help"],
        ["token", "create", "--help"],
        ["source", "copy", "--help"],
    ):
        code = f"import sys\nsys.argv = ['exhaust', *{args!r}]\nfrom exhaust.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
        assert "pydantic" not in loaded_after(code), args


def test_help_of_every_command_loads_no_heavy_library() -> None:
    code = """
import sys
from exhaust.cli import app
from typer.main import get_command
group = get_command(app)
for name, command in group.commands.items():
    for sub in getattr(command, "commands", {None: command}):
        args = [name, sub, "--help"] if sub else [name, "--help"]
        try:
            group.main(args, prog_name="exhaust", standalone_mode=False)
        except SystemExit:
            pass
"""
    assert loaded_after(code) & set(HEAVY) == set()


#: What `exhaust status ID` does without (bench/cli.py times it): SQLAlchemy and the schema check (the row
#: is read through the driver), the storage and the signer's fsspec (a queued job has no files to sign).
NOT_FOR_STATUS = ("fsspec", *(name for name in HEAVY if name != "pydantic"))


def test_status_of_a_queued_request_reads_the_row_and_loads_only_what_it_needs(tmp_path: Path) -> None:
    from exhaust.jobs.service import dispose_all, open_store
    from exhaust.settings import Settings

    job, _ = open_store(Settings(data_dir=tmp_path)).submit("progress-exhaust", {"batchId": "B1"}, tag="B1")
    dispose_all()
    code = f"""
import sys
sys.argv = ["exhaust", "status", {job.request_id!r}]
from exhaust.cli import main
try:
    main()
except SystemExit as done:
    assert done.code == 0, done.code
"""
    loaded = loaded_after(code, {"EXHAUST_DATA_DIR": str(tmp_path), "EXHAUST_DB_URL": ""}, whole=True)
    assert {name for name in loaded if name.startswith(NOT_FOR_STATUS)} == set()
    assert "sqlite3" in loaded  # it did read the store
    assert not (tmp_path / "signing-secret").exists()  # nothing to sign: the secret is not even made


def test_version_is_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exhaust", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout == f"exhaust {__version__}\n"


def test_installed_metadata_has_the_same_version() -> None:
    from importlib.metadata import version

    assert version("exhaust") == __version__
