"""Job commands: `submit`, `worker`, `status`, `list` (and `db-upgrade`), added to the main CLI by `register`.

Output is for scripts: `submit` prints the request id alone; `status` and `list` print JSON; messages go
to stderr. Settings come from `EXHAUST_*` variables (source, database, storage, time zone, …).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import typer

from exhaust.errors import BadInput, ExhaustError
from exhaust.settings import get_settings


def _fail(error: ExhaustError) -> typer.Exit:
    typer.echo(str(error), err=True)
    return typer.Exit(error.exit_code)


def _request_data(batch: str | None, batch_filter: str | None, search_filter: str | None) -> dict[str, Any]:
    given = [x for x in (batch, batch_filter, search_filter) if x]
    if len(given) != 1:
        raise BadInput("give exactly one of --batch, --batch-filter or --search-filter")
    if batch:
        return {"batchId": batch}
    if batch_filter:
        return {"batchFilter": [b.strip() for b in batch_filter.split(",") if b.strip()]}
    try:
        return {"searchFilter": json.loads(search_filter or "")}
    except json.JSONDecodeError:
        raise BadInput('--search-filter must be JSON, e.g. \'{"channel": "ORG_1"}\'') from None


def submit(
    dataset: str = typer.Argument(
        ..., help="progress-exhaust, userinfo-exhaust, response-exhaust or course-mentor"
    ),
    batch: str | None = typer.Option(None, "--batch", help="One batch id"),
    batch_filter: str | None = typer.Option(None, "--batch-filter", help="Batch ids, comma separated (≤ 20)"),
    search_filter: str | None = typer.Option(None, "--search-filter", help="JSON collection filters"),
    channel: str = typer.Option("System", "--channel", help="Requesting channel (org id)"),
    requested_by: str = typer.Option("", "--requested-by", help="Requesting user id"),
    tag: str | None = typer.Option(None, "--tag", help="Client tag (default: the batch id)"),
    encryption_key: str | None = typer.Option(
        None, "--encryption-key", help="Zip password; '-' reads it from standard input"
    ),
    profile: str | None = typer.Option(None, "--profile", help="Column profile (default: the dataset's own)"),
) -> None:
    """Queue a report request and print its request id."""
    from exhaust.jobs.batches import check_batches_for_channel
    from exhaust.jobs.datasets import parse_request_data
    from exhaust.jobs.service import open_store
    from exhaust.jobs.text import check_tag, check_value

    try:
        settings = get_settings()
        data = _request_data(batch, batch_filter, search_filter)
        if profile:
            data["profile"] = profile
        if encryption_key == "-":
            encryption_key = sys.stdin.readline().rstrip("\n")
        check_tag(tag or batch or "batches")
        check_value("channel", channel)
        if not channel.strip():
            raise BadInput("--channel is empty")
        selector = parse_request_data(data)
        if selector.batch_ids:  # as the API does: the batches exist and are the channel's
            from exhaust.sources.open import open_source

            check_batches_for_channel(
                open_source(settings.source_spec(), settings), selector.batch_ids, channel
            )
        job, queued = open_store(settings).submit(
            dataset,
            data,
            tag=tag or batch or "batches",
            channel=channel,
            requested_by=requested_by,
            encryption_key=encryption_key or None,
        )
    except ExhaustError as error:
        raise _fail(error) from None
    if not queued:
        typer.echo(f"already requested today; status {job.status}", err=True)
    typer.echo(job.request_id)


def worker(
    once: bool = typer.Option(False, "--once", help="Process everything that is due, then exit"),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Jobs run at the same time"),
    scheduler: bool = typer.Option(
        True, "--scheduler/--no-scheduler", help="Also run due schedules (one leader across all workers)"
    ),
) -> None:
    """Process queued requests (run any number of these, on any machines, against one database)."""
    from exhaust.jobs.service import open_store
    from exhaust.jobs.worker import Worker
    from exhaust.logs import configure
    from exhaust.outputs.storage import open_storage

    configure("%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise SystemExit(130)
        logging.getLogger("exhaust.jobs").info("stopping after the current jobs (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        settings = get_settings()
        store, storage = open_store(settings), open_storage(settings)
        on_end = _end_hook_factory(settings, store, storage) if _end_hook_factory else None
        runner = Worker(store, storage, settings, on_end=on_end)
        if scheduler:
            from exhaust.jobs.scheduler import Scheduler, start_scheduler

            if once:  # one scheduler round first, so due schedules' requests are processed too
                one_round = Scheduler(store, settings, runner.name)
                try:
                    one_round.tick()
                finally:
                    one_round.leadership.release()
            else:
                start_scheduler(store, settings, runner.name, stop)
        handled = runner.run(once=once, concurrency=concurrency, stop=stop)
    except ExhaustError as error:
        raise _fail(error) from None
    if once:
        typer.echo(f"{handled} job(s) processed", err=True)
    # A long-running worker rode out any outage (it backed off and went on): a plain stop is a clean
    # exit. Only a one-shot run that could not reach the store has failed at what it was asked.
    if once and runner.errors:
        raise _fail(ExhaustError("the job store could not be reached; see the log above"))


def status(request_id: str = typer.Argument(..., help="The id printed by submit")) -> None:
    """Print one request as JSON, with fresh download links."""
    from exhaust.jobs.service import open_signer, open_store
    from exhaust.jobs.views import job_response

    try:
        settings = get_settings()
        job = open_store(settings).get(request_id.strip().upper())
        if job is None:
            raise ExhaustError(f"no request with id {request_id}")
        typer.echo(json.dumps(job_response(job, open_signer(settings)), indent=2, ensure_ascii=False))
    except ExhaustError as error:
        raise _fail(error) from None


def list_jobs(
    tag: str = typer.Option(..., "--tag", help="Client tag (all channels) or tag:channel"),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel's requests"),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many, newest first"),
) -> None:
    """Print the requests of a tag as a JSON list, newest first."""
    from exhaust.jobs.service import open_signer, open_store
    from exhaust.jobs.views import job_response

    try:
        settings = get_settings()
        jobs = open_store(settings).list(tag, channel=channel, limit=limit)
        signer = open_signer(settings)
        typer.echo(json.dumps([job_response(job, signer) for job in jobs], indent=2, ensure_ascii=False))
    except ExhaustError as error:
        raise _fail(error) from None


def db_upgrade() -> None:
    """Create or upgrade the job table (workers also do it on start)."""
    import sqlalchemy as sa

    from exhaust.jobs import migrate
    from exhaust.jobs.db import database_url, make_engine

    try:
        settings = get_settings()
        engine = make_engine(database_url(settings))
        try:
            ran = migrate.upgrade(engine, settings.job_table)
        except sa.exc.SQLAlchemyError as exc:
            where = engine.url.render_as_string(hide_password=True)
            orig = getattr(exc, "orig", None)
            reason = (
                str(orig).strip().splitlines()[0]
                if orig is not None and str(orig).strip()
                else type(exc).__name__
            )
            raise ExhaustError(f"the job store {where} cannot be reached ({reason})") from None
    except ExhaustError as error:
        raise _fail(error) from None
    typer.echo("job store upgraded" if ran else "job store already up to date", err=True)


_end_hook_factory: Callable[..., Callable | None] | None = None


def register(app: typer.Typer, end_hook: Callable[..., Callable | None] | None = None) -> None:
    """Add the job commands to `app`; `end_hook(settings, store, storage)` makes the workers' end-of-job
    hook (the top-level CLI passes the mailer, which lives above this layer)."""
    global _end_hook_factory
    _end_hook_factory = end_hook
    app.command("submit")(submit)
    app.command("worker")(worker)
    app.command("status")(status)
    app.command("list")(list_jobs)
    app.command("db-upgrade")(db_upgrade)


app = typer.Typer(help="Report requests as jobs.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)  # fmt: skip
register(app)

if __name__ == "__main__":
    app()
