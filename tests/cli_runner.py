"""Run a Typer app in-process the way `exhaust` runs it: through the CLI's one error path."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from typer.testing import CliRunner

from exhaust.console import run


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(
    app: typer.Typer, args: list[str], input: str | None = None, env: dict[str, str] | None = None
) -> Ran:
    """`app` run with `args` (as `exhaust.console.run` does for the real CLI), its status and output;
    `env` overrides environment variables meanwhile."""
    with CliRunner(env=env).isolation(input=input) as (stdout, stderr, _output):
        try:
            run(app, args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        return Ran(code, stdout.getvalue().decode(), stderr.getvalue().decode())
