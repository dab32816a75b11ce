"""`exhaust dashboard tokens`: sign-in tokens for one batch's dashboard (an org admin and its first mentor)."""

from __future__ import annotations

from typing import Annotated

import typer

from exhaust.console import command_group
from exhaust.errors import NotFound

dashboard_app = command_group()
#: The main batch of `exhaust demo`'s data (demo/generate.py), so the README's two commands need no ids.
DEMO_BATCH = "batch-demo-main"


@dashboard_app.command("tokens")
def tokens(
    batch: Annotated[
        str, typer.Option("--batch", metavar="ID", help="The batch whose page to open.")
    ] = DEMO_BATCH,
    base_url: Annotated[
        str, typer.Option("--url", metavar="URL", help="Where `exhaust serve` listens.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Create an ORG_ADMIN token of the batch's channel and a token for its first mentor, and print them.

    \b
    Examples:
      exhaust dashboard tokens
      exhaust dashboard tokens --batch B1 --url https://reports.example.org
    """
    from exhaust.api.auth import TokenStore
    from exhaust.api.batches import BatchDirectory
    from exhaust.jobs.service import open_store
    from exhaust.settings import get_settings
    from exhaust.sources.open import open_source

    settings = get_settings()
    facts = (
        BatchDirectory(lambda: open_source(settings.source_spec(), settings), 0).lookup([batch]).get(batch)
    )
    if facts is None:
        raise NotFound(f"batch {batch} not found in {settings.source_spec()}")
    channel = facts.course_channel or (facts.created_for[0] if facts.created_for else "")
    if not channel:
        raise NotFound(f"batch {batch} has no channel (its course has no hierarchy)")
    store = TokenStore(open_store(settings).engine, settings.api_token_table)
    store.ensure_table()
    admin = store.create(channel=channel, roles=["ORG_ADMIN"], user_id="dashboard-admin")
    mentor = (
        store.create(channel=channel, roles=["COURSE_MENTOR"], user_id=facts.mentors[0])
        if facts.mentors
        else None
    )
    typer.echo(f"Open {base_url.rstrip('/')}/dashboard/batches/{batch} and sign in with a token:")
    typer.echo(f"  org admin of {channel}: {admin}")
    if mentor:
        typer.echo(f"  mentor {facts.mentors[0]}: {mentor}")
