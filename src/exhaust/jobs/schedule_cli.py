"""`exhaust schedule add|list|remove|run-now`: recurring requests, run by the workers.

`add` prints the schedule id alone on stdout (its next run goes to stderr); `list` prints JSON; `run-now`
prints the id of the request it queued. Times are in the configured time zone (EXHAUST_TIMEZONE).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from exhaust.errors import BadInput, ExhaustError

schedule_app = typer.Typer(
    help="Recurring requests: a cron expression and a request, run by the workers (one leader at a time).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _stores():
    from exhaust.jobs.kinds import load_kinds
    from exhaust.jobs.schedules import ScheduleStore
    from exhaust.jobs.service import open_store
    from exhaust.settings import get_settings

    load_kinds()

    settings = get_settings()
    store = open_store(settings)
    return settings, store, ScheduleStore(store.engine, settings.job_table, settings.timezone)


def schedule_request_data(
    dataset: str,
    batch: str | None,
    batch_filter: str | None,
    from_emitted: str | None,
    email: str | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """The request a schedule makes, from the CLI's (or API's) selector options."""
    from exhaust.jobs.schedules import FROM_EMITTED, SPECIAL_KINDS

    given = [x for x in (batch, batch_filter, from_emitted) if x]
    data: dict[str, Any] = {}
    if dataset in SPECIAL_KINDS:
        if given:
            raise BadInput(f"a {dataset} schedule takes no batch options: it reads the emitted batch ids")
    elif len(given) != 1:
        raise BadInput("give exactly one of --batch, --batch-filter or --from-emitted")
    elif batch:
        data["batchId"] = batch
    elif batch_filter:
        data["batchFilter"] = [b.strip() for b in batch_filter.split(",") if b.strip()]
    else:
        data[FROM_EMITTED] = from_emitted
    if profile:
        data["profile"] = profile
    if email:
        data["datasetConfig"] = {"email": email}
    return data


@schedule_app.command("add")
def add(
    dataset: str = typer.Argument(..., help="progress-exhaust, userinfo-exhaust, …, or tpd (the TPD feed)"),
    cron: str = typer.Option(..., "--cron", help='When, in the configured time zone: "0 6 * * *" = 06:00'),
    batch: str | None = typer.Option(None, "--batch", help="One batch id"),
    batch_filter: str | None = typer.Option(None, "--batch-filter", help="Batch ids, comma separated"),
    from_emitted: str | None = typer.Option(
        None, "--from-emitted", help="batch-ids: the batch ids of the emitted file at each run"
    ),
    channel: str = typer.Option("System", "--channel", help="Requesting channel (org id)"),
    requested_by: str = typer.Option("", "--requested-by", help="Requesting user id"),
    email: str | None = typer.Option(None, "--email", help="Mail each run's outcome to this address"),
    encryption_key: str | None = typer.Option(
        None, "--encryption-key", help="Zip password; '-' reads it from standard input"
    ),
    tag: str | None = typer.Option(None, "--tag", help="Client tag of the requests (default: schedule-<id>)"),
    profile: str | None = typer.Option(None, "--profile", help="Column profile (default: the dataset's own)"),
) -> None:
    """Add a recurring request and print its id."""
    settings, _, schedules = _stores()
    if encryption_key == "-":
        encryption_key = sys.stdin.readline().rstrip("\n")
    data = schedule_request_data(dataset, batch, batch_filter, from_emitted, email, profile)
    schedule = schedules.add(
        dataset, data, cron=cron, channel=channel, requested_by=requested_by, tag=tag,
        encryption_key=encryption_key or None,
    )  # fmt: skip
    typer.echo(f"next run {schedule.view(settings.timezone)['nextRunAt']}", err=True)
    typer.echo(schedule.schedule_id)


@schedule_app.command("list")
def list_schedules(
    channel: str | None = typer.Option(None, "--channel", help="Only this channel's schedules"),
) -> None:
    """Print the schedules as a JSON list, soonest first (never their encryption keys)."""
    settings, _, schedules = _stores()
    views = [s.view(settings.timezone) for s in schedules.list(channel)]
    typer.echo(json.dumps(views, indent=2, ensure_ascii=False))


@schedule_app.command("remove")
def remove(schedule_id: str = typer.Argument(..., help="The id printed by add")) -> None:
    """Delete a schedule (requests it already queued stay)."""
    _, _, schedules = _stores()
    if not schedules.remove(schedule_id.strip()):
        raise ExhaustError(f"no schedule with id {schedule_id}")
    typer.echo(f"schedule {schedule_id} removed", err=True)


@schedule_app.command("run-now")
def run_now(schedule_id: str = typer.Argument(..., help="The id printed by add")) -> None:
    """Run a schedule once now (its next slot stays as it was) and print the id of what it started."""
    from exhaust.jobs.scheduler import Scheduler

    settings, store, schedules = _stores()
    schedule = schedules.get(schedule_id.strip())
    if schedule is None:
        raise ExhaustError(f"no schedule with id {schedule_id}")
    started = Scheduler(store, settings, owner="cli").run_now(schedule)
    schedules.record(schedule.schedule_id, request_id=started, error=None)
    typer.echo(started)
