"""The one command line: `exhaust --help` lists everything it does.

Start-up stays light (`exhaust --help` prints at once): this module imports Typer, the error classes and
the dataset registry only; every command imports what it needs (Ibis, DuckDB, SQLAlchemy, FastAPI, …)
inside its body, and so do the command groups of the parts. `tests/test_cli_startup.py` keeps it so.

Errors: commands raise `ExhaustError`s; `main()` turns them into one line and the exit status
(`exhaust.console.run`): 0 ok, 1 failed, 2 not found or bad usage.

Adding a command group: write a Typer app in your part's package (`<part>/cli.py`, heavy imports inside
its commands) and add it with one `app.add_typer(...)` line in `_register_subcommands` below.
`docs/cli.md` is generated from these commands (`python -m exhaust.reference`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from exhaust import __version__
from exhaust.console import command_group, lighten, run
from exhaust.errors import BadInput, ExhaustError
from exhaust.jobs.cli_options import ProfileOpt
from exhaust.reports import registry

EXIT_STATUSES = (
    "Exit status: 0 ok, 1 failed, 2 not found or bad usage (an unknown option, a bad setting), "
    "3 a service was unreachable (try again later)."
)

app = command_group(
    "Course reports (exhausts) for Sunbird / DIKSHA data: build them, queue them, serve them.",
    epilog=EXIT_STATUSES,
)

DatasetArg = Annotated[
    str, typer.Argument(metavar="DATASET", help=f"The dataset: {registry.spoken()}.", show_default=False)
]


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"exhaust {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Course reports (exhausts) for Sunbird / DIKSHA data: build them, queue them, serve them."""


@app.command()
def report(
    dataset: DatasetArg,
    batch: Annotated[str, typer.Option("--batch", metavar="ID", help="Batch id.", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="CSV file to write.", show_default=False)
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="SPEC",
            help="Data folder, files:DIR, or a source URL (default: EXHAUST_SOURCE).",
        ),
    ] = None,
    profile: ProfileOpt = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", metavar="ORG", help="Requesting channel (consent is per channel)."),
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", metavar="NAME", help="duckdb (default) or spark.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            metavar="TEXT",
            help=f"Zip password; required for {registry.spoken(registry.PERSONAL)} (- reads it from stdin).",
        ),
    ] = None,
) -> None:
    """Build one report for one batch and write it as CSV (or as a password-protected zip).

    \b
    Examples:
      exhaust report progress-exhaust --source exhaust-data/demo --batch B1 --output progress.csv
      exhaust report progress-exhaust --batch B1 -o p.csv --profile progress-exhaust-sunbird-lern
      echo pa55 | exhaust report userinfo-exhaust --batch B1 --output userinfo.zip --password -
    """
    import tempfile

    from exhaust.reports.build import build_report
    from exhaust.settings import get_settings
    from exhaust.sources.open import open_source

    settings = get_settings()
    if password == "-":
        password = sys.stdin.readline().rstrip("\n")
    if output.is_dir():
        raise BadInput(f"--output {output} is a folder: give the path of the file to write")
    if dataset in registry.PERSONAL and not password:
        raise BadInput(f"{dataset} holds personal data: give --password to get it as a protected zip")
    if password and output.suffix != ".zip":
        raise BadInput("with --password the output is a zip: name it FILE.zip")
    if not password and output.suffix.lower() == ".zip":
        raise BadInput(f"{output.name} names a zip: give --password for a protected zip, or name it FILE.csv")
    with _progress(f"Building {dataset} for {batch}"), tempfile.TemporaryDirectory() as work:
        target = Path(work) / (output.stem + ".csv") if password else output
        result = build_report(
            open_source(source or settings.source_spec()),
            dataset,
            batch,
            target,
            requested_channel=channel,
            profile=profile,
            engine=engine,
            settings=settings,
        )
        if password:
            _protect(target, output, password, settings.zip_encryption)
    _err(f"{result.rows} rows written to {output}")


def _protect(
    csv_path: Path, zip_path: Path, password: str, encryption: Literal["zipcrypto", "aes256"]
) -> None:
    """Zip the CSV with a password beside the final name, then move it into place (never half-written)."""
    from exhaust.outputs.zipping import zip_report

    partial = zip_path.with_name(f".{zip_path.name}.part")
    try:
        zip_report(csv_path, partial, password=password, encryption=encryption)
        os.replace(partial, zip_path)
    finally:
        partial.unlink(missing_ok=True)


LearnersOpt = Annotated[
    int, typer.Option("--learners", "-n", metavar="N", min=1, help="Learners in the main batch.")
]


@app.command("demo-data")
def demo_data(
    learners: LearnersOpt = 10_000,
    out_dir: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder to write the tables to.")
    ] = Path("exhaust-data/demo"),
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed (same seed, same data).")] = 7,
) -> None:
    """Write a realistic synthetic data set (Parquet, one file per table).

    \b
    Examples:
      exhaust demo-data --learners 100000 --out /tmp/demo
      exhaust demo-data -n 500 --out small --seed 3
    """
    summary = _generate(out_dir, learners, seed)
    typer.echo(f"{learners} learners written to {summary.folder} (main batch {summary.main_batch_id})")


@app.command()
def demo(
    learners: LearnersOpt = 10_000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", metavar="DIR", help="Where demo data and reports go (default: EXHAUST_DATA_DIR)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing demo data without asking.")
    ] = False,
) -> None:
    """Generate demo data, build the progress report of its main batch and print where the file is.

    Asks before overwriting demo data that is already there (give --force when not at a terminal).

    \b
    Examples:
      exhaust demo
      exhaust demo --learners 1000 --data-dir /tmp/exhaust --force
    """
    from exhaust.reports.build import build_report
    from exhaust.settings import get_settings
    from exhaust.sources.open import open_source

    settings = get_settings()
    base = data_dir or settings.data_dir
    _confirm_overwrite(base / "demo", force)
    summary = _generate(base / "demo", learners, 7)
    output = base / "reports" / f"{summary.main_batch_id}_progress.csv"
    with _progress("Building the progress exhaust"):
        result = build_report(
            open_source(f"files:{summary.folder}"),
            "progress-exhaust",
            summary.main_batch_id,
            output,
            settings=settings,
        )
    typer.echo(f"{result.rows} rows: {result.path.resolve()}")


def _confirm_overwrite(folder: Path, force: bool) -> None:
    """Go on when `folder` is empty, `force` is given, or the person at the terminal says yes."""
    if force or not folder.is_dir() or not any(folder.iterdir()):
        return
    question = f"{folder} already holds demo data: overwrite it?"
    if not sys.stdin.isatty():
        raise ExhaustError(f"{folder} already holds demo data: give --force to overwrite it")
    if not typer.confirm(question, default=False, err=True):
        raise ExhaustError("nothing written: the demo data was kept")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="N", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", metavar="N", min=1, help="API processes.")] = 1,
) -> None:
    """Serve the dataset request API (Sunbird-compatible), signed downloads, health and metrics.

    \b
    Examples:
      exhaust serve
      exhaust serve --host 0.0.0.0 --port 8000 --workers 4
    """
    from exhaust.api.cli import serve as run_server

    run_server(host, port, workers)


def _generate(out_dir: Path, learners: int, seed: int):
    from rich.console import Console
    from rich.progress import Progress

    from exhaust.demo.generate import generate_demo

    disabled = not sys.stdout.isatty()
    with Progress(console=Console(stderr=True), transient=True, disable=disabled) as bar:
        task = bar.add_task("Generating demo data", total=learners)
        return generate_demo(out_dir, learners, seed, progress=lambda done: bar.update(task, completed=done))


def _progress(label: str):
    """A spinner on the terminal while one long step runs (nothing when not a terminal)."""
    from contextlib import nullcontext

    if not sys.stdout.isatty():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(label)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _register_subcommands() -> None:
    """Commands that live beside the parts they drive (each imports its heavy parts when it runs)."""
    from exhaust.api.cli import token_app
    from exhaust.jobs.cli import register as register_jobs
    from exhaust.sources.cli import source_app

    app.add_typer(source_app, name="source", help="Copy platform data between sources.")
    app.add_typer(token_app, name="token", help="Create, list and revoke API bearer tokens.")
    from exhaust.emission.cli import emission_app, emit

    app.command("emit")(emit)
    app.add_typer(emission_app, name="emission", help="cQube emission: tokens, ingestion, counts.")
    from exhaust.dashboard.cli import dashboard_app

    app.add_typer(dashboard_app, name="dashboard", help="Open the course dashboard (sign-in tokens).")
    register_jobs(app, end_hook=_job_mailer)
    from exhaust.jobs.kinds import add_kind_loader

    add_kind_loader(_tpd_kind)
    from exhaust.jobs.schedule_cli import schedule_app
    from exhaust.tpd.cli import tpd_app

    app.add_typer(schedule_app, name="schedule", help="Recurring requests, run by the workers.")
    app.add_typer(tpd_app, name="tpd", help="The cQube TPD feed: progress exhausts into course aggregates.")
    lighten(app)  # keep last: every group's unused --help stays free of Pydantic


def _tpd_kind() -> None:
    """The `tpd` schedule kind: registered with the scheduler when the schedules or a worker need it."""
    import exhaust.tpd.hooks  # noqa: F401


def _job_mailer(*args, **kwargs):
    """The workers' end-of-job hook: mail the requester (imported when a worker starts)."""
    from exhaust.notify.job_mail import job_mailer

    return job_mailer(*args, **kwargs)


_register_subcommands()


def main() -> None:  # the console entry point
    run(app)
