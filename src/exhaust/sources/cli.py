"""`exhaust source …` commands: seed a PostgreSQL source from another source (an export, demo data)."""

from __future__ import annotations

from typing import Annotated

import typer

from exhaust.console import command_group
from exhaust.errors import BadInput
from exhaust.extras import require

source_app = command_group("Work with report sources.")


@source_app.callback()
def sources() -> None:
    """Work with report sources (a group even while it has one command)."""


@source_app.command("copy")
def copy(
    from_spec: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="SPEC",
            help="Source to read: a folder, files:DIR, postgresql://…",
            show_default=False,
        ),
    ],
    to_spec: Annotated[
        str,
        typer.Option(
            "--to", metavar="URL", help="Target: postgresql://user@host/db?schema=S", show_default=False
        ),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop and recreate tables that already exist.")
    ] = False,
) -> None:
    """Create Sunbird's tables in a PostgreSQL schema and load every table of another source into them.

    \b
    Examples:
      exhaust source copy --from exhaust-data/demo --to 'postgresql://postgres@127.0.0.1/exhaust?schema=lms'
      exhaust source copy --from cassandra://10.0.0.5/ --to 'postgresql://db/exhaust?schema=lms' --replace
    """
    from exhaust.sources.cassandra import CassandraTables
    from exhaust.sources.open import open_tables
    from exhaust.sources.postgres_url import is_postgres_url, parse_postgres_spec
    from exhaust.sources.schema import TABLES

    if not is_postgres_url(to_spec):
        raise BadInput("--to must be a PostgreSQL URL such as postgresql://user@host/db?schema=exhaust")
    url, schema = parse_postgres_spec(to_spec)
    require("postgres", "source copy")
    from exhaust.sources.postgres_copy import copy_tables

    store = open_tables(from_spec)
    # Sunbird keeps users in Redis, not Cassandra: a Cassandra copy leaves the users table empty.
    tables = [name for name in TABLES if name != "users"] if isinstance(store, CassandraTables) else None
    counts = copy_tables(store, url, schema, replace=replace, tables=tables)
    for table, (rows, dropped) in counts.items():
        repeated = f" ({dropped} repeated keys skipped)" if dropped else ""
        typer.echo(f"{schema}.{table}: {rows} rows{repeated}")
