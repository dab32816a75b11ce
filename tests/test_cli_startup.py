"""The CLI starts light: loading it (for `--help`, `--version`, any command's help) imports no engine,
database, web or Spark library; each command imports those when it runs. Timings are in bench/cli.py."""

from __future__ import annotations

import json
import subprocess
import sys

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


def loaded_after(code: str) -> set[str]:
    """Top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
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


def test_version_is_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exhaust", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout == f"exhaust {__version__}\n"


def test_installed_metadata_has_the_same_version() -> None:
    from importlib.metadata import version

    assert version("exhaust") == __version__
