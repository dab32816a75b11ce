"""Options that several commands share (`report`, `submit`, `schedule add`): one spelling, one help text."""

from __future__ import annotations

from typing import Annotated

import typer

ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", metavar="NAME", help="Column profile (default: the dataset's own)."),
]
EncryptionKeyOpt = Annotated[
    str | None,
    typer.Option("--encryption-key", metavar="TEXT", help="Zip password; - reads it from standard input."),
]
