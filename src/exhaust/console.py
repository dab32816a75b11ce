"""The CLI's one error path: an ExhaustError from any command becomes one line on stderr and its exit
status, here and nowhere else (commands just raise).

Exit statuses: 0 ok; 1 failed (bad input data, …); 2 not found (`NotFound`: batch, request, token) or
bad usage (an unknown option, a bad EXHAUST_* setting: `SettingError`); 3 a source, store or service was
unreachable (`TransientError`: trying again later may work). Click reports usage errors itself, with 2.

Kept apart from `exhaust.cli` (and free of heavy imports) so that a part's own Typer app, run as
`python -m exhaust.jobs.cli`, takes the same path.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup
from typer.models import DefaultPlaceholder

from exhaust.errors import ExhaustError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_FOUND_OR_USAGE = 2
EXIT_TRY_AGAIN = 3


def run(app: typer.Typer, args: list[str] | None = None) -> NoReturn:
    """Run `app` and exit: Click's own statuses, or an ExhaustError's one line and `exit_code`."""
    try:
        app(args=args, prog_name="exhaust")
    except ExhaustError as error:
        sys.stderr.write(f"{error}\n")
        sys.stderr.flush()
        raise SystemExit(error.exit_code) from None
    raise SystemExit(EXIT_OK)  # pragma: no cover - Click exits itself in standalone mode


class LightGroup(TyperGroup):
    """A command group whose unused `--help` costs nothing.

    Typer coerces every parameter's value through a Pydantic TypeAdapter unless it is already a bool;
    an absent `--help` of a group is None, so `exhaust report --help` would load Pydantic (a third of a
    second) just to parse the group's `--help`. Its default is made False, which skips that.
    Every command group gets it from `command_group` (or `lighten`).
    """

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


def command_group(help: str | None = None, **extra: Any) -> typer.Typer:
    """A Typer app set up as every exhaust command group is: help when called bare, no shell-completion
    commands, no Rich tracebacks or markup (errors go through `run`), and a LightGroup."""
    return typer.Typer(
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=LightGroup,
        **extra,
    )


def lighten(app: typer.Typer) -> None:
    """Make every command group under `app` a LightGroup unless it chose a class of its own (so a
    part's group added with a plain `app.add_typer(...)` line gets it too)."""
    for group in app.registered_groups:
        inner = group.typer_instance
        if inner is None:
            continue
        if isinstance(group.cls, DefaultPlaceholder) and isinstance(inner.info.cls, DefaultPlaceholder):
            group.cls = LightGroup
        lighten(inner)
