"""`exhaust tpd run|status`: the TPD feed on demand and what its last runs did."""

from __future__ import annotations

import typer

tpd_app = typer.Typer(
    help="The cQube TPD feed: one progress-exhaust request for the emitted batch ids, into diksha_tpd.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
