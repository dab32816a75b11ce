"""The CLI's one error path: an ExhaustError from any command becomes one line on stderr and its exit
status, here and nowhere else (commands just raise).

Exit statuses: 0 ok; 1 failed (bad input data, a service down, …); 2 not found (`NotFound`: batch,
request, token) or bad usage (an unknown option, a bad EXHAUST_* setting). Click reports usage errors
itself, with status 2.

Kept apart from `exhaust.cli` (and free of heavy imports) so that a part's own Typer app, run as
`python -m exhaust.jobs.cli`, takes the same path.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

from exhaust.errors import ExhaustError

if TYPE_CHECKING:
    import typer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_FOUND_OR_USAGE = 2


def run(app: typer.Typer, args: list[str] | None = None) -> NoReturn:
    """Run `app` and exit: Click's own statuses, or an ExhaustError's one line and `exit_code`."""
    try:
        app(args=args, prog_name="exhaust")
    except ExhaustError as error:
        sys.stderr.write(f"{error}\n")
        sys.stderr.flush()
        raise SystemExit(error.exit_code) from None
    raise SystemExit(EXIT_OK)  # pragma: no cover - Click exits itself in standalone mode
