"""`exhaust schedule add|list|remove|run-now`: recurring requests, run by the workers.

`add` prints the schedule id alone on stdout (its next run goes to stderr); `list` prints JSON; `run-now`
prints the id of the request it queued. Times are in the configured time zone (EXHAUST_TIMEZONE).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from exhaust.console import command_group
from exhaust.errors import BadInput, ExhaustError
from exhaust.jobs.cli_options import EncryptionKeyOpt, ProfileOpt
from exhaust.reports import registry

schedule_app = command_group(
    "Recurring requests: a cron expression and a request, run by the workers (one leader at a time)."
)

ScheduleIdArg = Annotated[
    str, typer.Argument(metavar="SCHEDULE_ID", help="The id printed by add.", show_default=False)
]


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
    dataset: Annotated[
        str,
        typer.Argument(
            metavar="DATASET",
            help=f"The dataset: {registry.spoken()}; or tpd (the TPD feed).",
            show_default=False,
        ),
    ],
    cron: Annotated[
        str,
        typer.Option(
            "--cron",
            metavar="CRON",
            help='When, in the configured time zone: "0 6 * * *" = 06:00.',
            show_default=False,
        ),
    ],
    batch: Annotated[str | None, typer.Option("--batch", metavar="ID", help="One batch id.")] = None,
    batch_filter: Annotated[
        str | None, typer.Option("--batch-filter", metavar="IDS", help="Batch ids, comma separated.")
    ] = None,
    from_emitted: Annotated[
        str | None,
        typer.Option(
            "--from-emitted",
            metavar="SOURCE",
            help="batch-ids: the batch ids of the emitted file at each run.",
        ),
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", metavar="ORG", help="Requesting channel (org id).")
    ] = "System",
    requested_by: Annotated[
        str, typer.Option("--requested-by", metavar="ID", help="Requesting user id.", show_default=False)
    ] = "",
    email: Annotated[
        str | None,
        typer.Option("--email", metavar="ADDRESS", help="Mail each run's outcome to this address."),
    ] = None,
    encryption_key: EncryptionKeyOpt = None,
    tag: Annotated[
        str | None,
        typer.Option("--tag", metavar="TAG", help="Client tag of the requests (default: schedule-<id>)."),
    ] = None,
    profile: ProfileOpt = None,
) -> None:
    """Add a recurring request and print its id.

    \b
    Examples:
      exhaust schedule add progress-exhaust --cron "0 6 * * *" --batch B1 --channel ORG_1
      exhaust schedule add progress-exhaust --cron "0 2 * * 1" --from-emitted batch-ids
      exhaust schedule add tpd --cron "30 1 * * *"
    """
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
    channel: Annotated[
        str | None, typer.Option("--channel", metavar="ORG", help="Only this channel's schedules.")
    ] = None,
) -> None:
    """Print the schedules as a JSON list, soonest first (never their encryption keys).

    \b
    Examples:
      exhaust schedule list
      exhaust schedule list --channel ORG_1
    """
    settings, _, schedules = _stores()
    views = [s.view(settings.timezone) for s in schedules.list(channel)]
    typer.echo(json.dumps(views, indent=2, ensure_ascii=False))


@schedule_app.command("remove")
def remove(schedule_id: ScheduleIdArg) -> None:
    """Delete a schedule (requests it already queued stay).

    \b
    Example:
      exhaust schedule remove 5e0c2a9b7d4f
    """
    _, _, schedules = _stores()
    if not schedules.remove(schedule_id.strip()):
        raise ExhaustError(f"no schedule with id {schedule_id}")
    typer.echo(f"schedule {schedule_id} removed", err=True)


@schedule_app.command("run-now")
def run_now(schedule_id: ScheduleIdArg) -> None:
    """Run a schedule once now (its next slot stays as it was) and print the id of what it started.

    \b
    Example:
      exhaust schedule run-now 5e0c2a9b7d4f
    """
    from exhaust.jobs.scheduler import Scheduler

    settings, store, schedules = _stores()
    schedule = schedules.get(schedule_id.strip())
    if schedule is None:
        raise ExhaustError(f"no schedule with id {schedule_id}")
    started = Scheduler(store, settings, owner="cli").run_now(schedule)
    schedules.record(schedule.schedule_id, request_id=started, error=None)
    typer.echo(started)
