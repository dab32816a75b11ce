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
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from exhaust.console import command_group, run
from exhaust.errors import BadInput, ExhaustError, NotFound
from exhaust.jobs.cli_options import EncryptionKeyOpt, ProfileOpt
from exhaust.reports import registry

if TYPE_CHECKING:
    from exhaust.jobs.store import JobStore
    from exhaust.settings import Settings

T = TypeVar("T")


def get_settings() -> Settings:
    """The process settings (pydantic is imported when a command runs, not for --help)."""
    from exhaust.settings import get_settings as settings

    return settings()


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
    dataset: Annotated[
        str, typer.Argument(metavar="DATASET", help=f"The dataset: {registry.spoken()}.", show_default=False)
    ],
    batch: Annotated[str | None, typer.Option("--batch", metavar="ID", help="One batch id.")] = None,
    batch_filter: Annotated[
        str | None,
        typer.Option("--batch-filter", metavar="IDS", help="Batch ids, comma separated (at most 20)."),
    ] = None,
    search_filter: Annotated[
        str | None, typer.Option("--search-filter", metavar="JSON", help="Collection filters as JSON.")
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", metavar="ORG", help="Requesting channel (org id).")
    ] = "System",
    requested_by: Annotated[
        str, typer.Option("--requested-by", metavar="ID", help="Requesting user id.")
    ] = "",
    tag: Annotated[
        str | None, typer.Option("--tag", metavar="TAG", help="Client tag (default: the batch id).")
    ] = None,
    encryption_key: EncryptionKeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Queue a report request and print its request id.

    \b
    Examples:
      exhaust submit progress-exhaust --batch B1 --channel ORG_1
      exhaust submit progress-exhaust --batch-filter B1,B2 --channel ORG_1 --tag do_C1
      exhaust submit response-exhaust --search-filter '{"channel": "ORG_1"}'
      echo pa55 | exhaust submit userinfo-exhaust --batch B1 --encryption-key -
    """
    from exhaust.jobs.batches import check_batches_for_channel
    from exhaust.jobs.datasets import parse_request_data
    from exhaust.jobs.service import open_store
    from exhaust.jobs.text import check_tag, check_value

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

        check_batches_for_channel(open_source(settings.source_spec(), settings), selector.batch_ids, channel)
    job, queued = open_store(settings).submit(
        dataset,
        data,
        tag=tag or batch or "batches",
        channel=channel,
        requested_by=requested_by,
        encryption_key=encryption_key or None,
    )
    if not queued:
        typer.echo(f"already requested today; status {job.status}", err=True)
    typer.echo(job.request_id)


def worker(
    once: Annotated[bool, typer.Option("--once", help="Process everything that is due, then exit.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", min=1, help="Jobs run at the same time.")
    ] = 1,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler", help="Also run due schedules (one leader across all workers)."
        ),
    ] = True,
) -> None:
    """Process queued requests (run any number of these, on any machines, against one database).

    \b
    Examples:
      exhaust worker
      exhaust worker --concurrency 2
      exhaust worker --once          # what is due now, then exit (cron, tests)
    """
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
    if once:
        typer.echo(f"{handled} job(s) processed", err=True)
    # A long-running worker rode out any outage (it backed off and went on): a plain stop is a clean
    # exit. Only a one-shot run that could not reach the store has failed at what it was asked.
    if once and runner.errors:
        raise ExhaustError("the job store could not be reached; see the log above")


def _read(settings: Settings, read: Callable[[JobStore], T]) -> T:
    """`read` on the job store without the schema check first (loading Alembic is most of a read
    command's time); a store whose schema is missing or old is brought up to date, then read again."""
    from sqlalchemy.exc import DBAPIError

    from exhaust.jobs.service import open_store

    try:
        return read(open_store(settings, upgrade=False))
    except DBAPIError:
        return read(open_store(settings))


def status(
    request_id: Annotated[
        str, typer.Argument(metavar="REQUEST_ID", help="The id printed by submit.", show_default=False)
    ],
) -> None:
    """Print one request as JSON, with fresh download links.

    \b
    Example:
      exhaust status 8F1C0D7E2B3A4C5D6E7F8091A2B3C4D5
    """
    from exhaust.jobs.job import database_url
    from exhaust.jobs.lookup import NotReadDirectly, read_job
    from exhaust.jobs.service import open_signer
    from exhaust.jobs.views import job_response

    settings, wanted = get_settings(), request_id.strip().upper()
    try:  # without SQLAlchemy when the driver can answer (the command's start-up is mostly that import)
        job = read_job(database_url(settings), settings.job_table, wanted)
    except NotReadDirectly:
        job = _read(settings, lambda store: store.get(wanted))
    if job is None:
        raise NotFound(f"no request with id {request_id}")
    typer.echo(json.dumps(job_response(job, open_signer(settings)), indent=2, ensure_ascii=False))


def list_jobs(
    tag: Annotated[
        str,
        typer.Option(
            "--tag", metavar="TAG", help="Client tag (all channels) or tag:channel.", show_default=False
        ),
    ],
    channel: Annotated[
        str | None, typer.Option("--channel", metavar="ORG", help="Only this channel's requests.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="At most this many, newest first.")
    ] = 100,
) -> None:
    """Print the requests of a tag as a JSON list, newest first.

    \b
    Examples:
      exhaust list --tag do_C1
      exhaust list --tag do_C1 --channel ORG_1 --limit 10
    """
    from exhaust.jobs.service import open_signer
    from exhaust.jobs.views import job_response

    settings = get_settings()
    jobs = _read(settings, lambda store: store.list(tag, channel=channel, limit=limit))
    signer = open_signer(settings)
    typer.echo(json.dumps([job_response(job, signer) for job in jobs], indent=2, ensure_ascii=False))


def db_upgrade() -> None:
    """Create or upgrade the job table (workers also do it on start).

    \b
    Example:
      EXHAUST_DB_URL=postgresql://exhaust@db/exhaust exhaust db-upgrade
    """
    import sqlalchemy as sa

    from exhaust.jobs import migrate
    from exhaust.jobs.db import database_url, make_engine

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


app = command_group("Report requests as jobs.")
register(app)

if __name__ == "__main__":
    run(app)
