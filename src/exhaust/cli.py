"""The one command line: `exhaust --help` lists everything it does."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console

from exhaust.errors import BadInput, ExhaustError
from exhaust.settings import get_settings

app = typer.Typer(
    help="Course reports (exhausts) for Sunbird / DIKSHA data: build them, queue them, serve them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def fail(error: ExhaustError) -> typer.Exit:
    """Print a user-safe one-line reason on stderr and exit with the error's status."""
    err.print(str(error), markup=False, soft_wrap=True)
    return typer.Exit(error.exit_code)


@app.command()
def report(
    dataset: str = typer.Argument(
        ..., help="progress-exhaust, userinfo-exhaust, response-exhaust or course-mentor"
    ),
    batch: str = typer.Option(..., "--batch", help="Batch id"),
    output: Path = typer.Option(..., "--output", "-o", help="CSV file to write"),
    source: str | None = typer.Option(None, "--source", help="Data folder, files:DIR, or a source URL"),
    profile: str | None = typer.Option(None, "--profile", help="Column profile (default: the dataset's own)"),
    channel: str | None = typer.Option(None, "--channel", help="Requesting channel (consent is per channel)"),
    engine: str | None = typer.Option(None, "--engine", help="duckdb (default) or spark"),
    password: str | None = typer.Option(
        None,
        "--password",
        help="Zip password; required for userinfo-exhaust and course-mentor (- reads stdin)",
    ),
) -> None:
    """Build one report for one batch and write it as CSV (or as a password-protected zip)."""
    from exhaust.reports.build import build_report
    from exhaust.reports.datasets import PROTECTED_DATASETS
    from exhaust.sources.open import open_source

    if password == "-":
        password = sys.stdin.readline().rstrip("\n")
    try:
        settings = get_settings()
        if output.is_dir():
            raise BadInput(f"--output {output} is a folder: give the path of the file to write")
        if dataset in PROTECTED_DATASETS and not password:
            raise BadInput(f"{dataset} holds personal data: give --password to get it as a protected zip")
        if password and output.suffix != ".zip":
            raise BadInput("with --password the output is a zip: name it FILE.zip")
        if not password and output.suffix.lower() == ".zip":
            raise BadInput(
                f"{output.name} names a zip: give --password for a protected zip, or name it FILE.csv"
            )
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
    except ExhaustError as error:
        raise fail(error) from None
    err.print(f"{result.rows} rows written to {output}", markup=False)


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


@app.command("demo-data")
def demo_data(
    learners: int = typer.Option(10_000, "--learners", "-n", min=1, help="Learners in the main batch"),
    out_dir: Path = typer.Option(Path("exhaust-data/demo"), "--out", help="Folder to write the tables to"),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same data)"),
) -> None:
    """Write a realistic synthetic data set (Parquet, one file per table)."""
    summary = _generate(out_dir, learners, seed)
    out.print(
        f"{learners} learners written to {summary.folder} (main batch {summary.main_batch_id})", markup=False
    )


@app.command()
def demo(
    learners: int = typer.Option(10_000, "--learners", "-n", min=1, help="Learners in the demo batch"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where demo data and reports go"),
) -> None:
    """Generate demo data, build the progress report of its main batch and print where the file is."""
    from exhaust.reports.build import build_report
    from exhaust.sources.open import open_source

    settings = get_settings()
    base = data_dir or settings.data_dir
    summary = _generate(base / "demo", learners, 7)
    output = base / "reports" / f"{summary.main_batch_id}_progress.csv"
    try:
        with _progress("Building the progress exhaust"):
            result = build_report(
                open_source(f"files:{summary.folder}"),
                "progress-exhaust",
                summary.main_batch_id,
                output,
                settings=settings,
            )
    except ExhaustError as error:
        raise fail(error) from None
    out.print(f"{result.rows} rows: {result.path.resolve()}", markup=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(8000, "--port", help="Port to listen on"),
    workers: int = typer.Option(1, "--workers", min=1, help="API processes"),
) -> None:
    """Serve the dataset request API (Sunbird-compatible), signed downloads, health and metrics."""
    from exhaust.api.cli import serve as run_server

    run_server(host, port, workers)


def _generate(out_dir: Path, learners: int, seed: int):
    from rich.progress import Progress

    from exhaust.demo.generate import generate_demo

    with Progress(console=err, transient=True, disable=not sys.stdout.isatty()) as bar:
        task = bar.add_task("Generating demo data", total=learners)
        return generate_demo(out_dir, learners, seed, progress=lambda done: bar.update(task, completed=done))


def _progress(label: str):
    """A spinner on the terminal while one long step runs (nothing when not a terminal)."""
    from contextlib import nullcontext

    return err.status(label) if sys.stdout.isatty() else nullcontext()


def _register_subcommands() -> None:
    """Commands that live beside the parts they drive."""
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
    from exhaust.notify.job_mail import job_mailer

    register_jobs(app, end_hook=job_mailer)
    from exhaust.jobs.schedule_cli import schedule_app
    from exhaust.tpd.cli import tpd_app

    app.add_typer(schedule_app, name="schedule", help="Recurring requests, run by the workers.")
    app.add_typer(tpd_app, name="tpd", help="The cQube TPD feed: progress exhausts into course aggregates.")


_register_subcommands()


def main() -> None:
    """The console entry point: any user-facing error that reached the top is one line, never a traceback."""
    try:
        app()
    except ExhaustError as error:
        err.print(str(error), markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
