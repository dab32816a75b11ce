"""`exhaust tpd run|status`: the TPD feed on demand and what its last runs did.

Both print JSON on stdout (a run's requests, files, counts and errors); messages go to stderr. Settings
and the feed are imported when a command runs (the CLI starts light).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from exhaust.console import command_group
from exhaust.errors import ExhaustError

tpd_app = command_group(
    "The cQube TPD feed: one progress-exhaust request for the emitted batch ids, into diksha_tpd."
)


def _settings() -> Any:
    from exhaust.settings import get_settings

    return get_settings()


def _feed(settings: Any):
    from exhaust.tpd.feed import TpdFeed

    return TpdFeed(settings)


@tpd_app.command("run")
def run(
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the request and the ingestion.")
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Start a new run even if one started today.")
    ] = False,
) -> None:
    """Request the progress exhaust of the emitted batch ids and ingest it (today's run is reused).

    \b
    Examples:
      exhaust tpd run
      exhaust tpd run --no-wait      # start it, print its status and return
      exhaust tpd run --force        # a second run today
    """
    settings = _settings()
    feed = _feed(settings)
    if wait:

        def progress(status: dict) -> None:
            done = sum(r["filesProcessed"] for r in status["requests"])
            typer.echo(f"run {status['runId']}: {status['status']}, {done} file(s) ingested", err=True)

        status = feed.run(
            wait_seconds=settings.tpd_wait_seconds, poll_seconds=settings.tpd_poll_seconds,
            force=force, on_poll=progress,
        )  # fmt: skip
    else:
        status = feed.run_status(feed.start(force=force))
    typer.echo(json.dumps(status, indent=2, ensure_ascii=False))
    if wait and (not status["aggregated"] or status["status"] == "FAILURE"):
        raise ExhaustError(
            f"run {status['runId']} ended {status['status']} without aggregating: see its JSON"
        )


@tpd_app.command("status")
def status(
    run_id: Annotated[
        str | None, typer.Option("--run", metavar="RUN_ID", help="One run (default: the latest runs).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="How many of the latest runs.")
    ] = 5,
) -> None:
    """Print the last runs as JSON: their requests, files, counts and errors.

    \b
    Examples:
      exhaust tpd status
      exhaust tpd status --limit 1
      exhaust tpd status --run 6f1d2c3b4a5e4f60a7b8c9d0e1f2a3b4
    """
    feed = _feed(_settings())
    found = [feed.run_status(run_id)] if run_id else feed.recent(limit)
    typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
