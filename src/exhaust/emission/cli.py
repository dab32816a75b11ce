"""Commands: `exhaust emit` (the client) and `exhaust emission token|ingest|status` (the receiving side)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from exhaust.console import command_group
from exhaust.errors import BadInput, ExhaustError

emission_app = command_group("cQube emission: API tokens, the ingestion worker and its counts.")
token_app = command_group("Emission API tokens (HS256 JWTs, Kong-compatible).")
emission_app.add_typer(token_app, name="token")


def _consoles():
    """Rich consoles for stdout and stderr (imported when a command prints, not at CLI start)."""
    from rich.console import Console

    return Console(highlight=False), Console(stderr=True, highlight=False)


def emit(
    folder: Annotated[
        str,
        typer.Argument(
            envvar="EXHAUST_EMISSION_FOLDER",
            metavar="FOLDER",
            help="cqube_emission folder, one data-source folder, or one file.",
            show_default=False,
        ),
    ] = "",
    url: Annotated[
        str,
        typer.Option(
            "--url",
            envvar="EXHAUST_EMISSION_URL",
            metavar="URL",
            help="Emission API base, e.g. https://host/data.",
            show_default=False,
        ),
    ] = "",
    token: Annotated[
        str,
        typer.Option(
            "--token",
            envvar="EXHAUST_EMISSION_TOKEN",
            metavar="TOKEN",
            help="Emission bearer token.",
            show_default=False,
        ),
    ] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and order the files; send nothing.")
    ] = False,
    log: Annotated[Path, typer.Option("--log", metavar="FILE", help="Result log (JSON lines).")] = Path(
        "emission-results.jsonl"
    ),
) -> None:
    """Send a cqube_emission folder to an emission API: checked, zipped, in dependency order, retried.

    \b
    Examples:
      exhaust emit cqube_emission --dry-run
      exhaust emit cqube_emission --url https://cqube.example.org/data --token "$TOKEN"
      exhaust emit cqube_emission/diksha_tpd      # one data source (URL, token from EXHAUST_EMISSION_*)
    """
    from exhaust.emission.client import FAILED, SKIPPED, plan
    from exhaust.emission.client import emit as send
    from exhaust.settings import get_settings

    settings = get_settings()
    out, err = _consoles()
    if not folder:
        raise BadInput("give the folder to emit (or set EXHAUST_EMISSION_FOLDER)")
    if not dry_run and (not url or not token):
        raise BadInput("give --url and --token (or EXHAUST_EMISSION_URL and EXHAUST_EMISSION_TOKEN)")
    planned = plan(Path(folder))
    if not planned:
        raise BadInput(f"no files found in {folder}")
    if dry_run:
        for number, item in enumerate(planned, 1):
            name = item.source.name if item.source else "?"
            note = f"  SKIPPED: {item.problem}" if item.problem else ""
            out.print(f"{number:3d}. {item.key} ({name}){note}", markup=False, soft_wrap=True)
    outcomes = []
    log.parent.mkdir(parents=True, exist_ok=True)
    from rich.progress import Progress

    with (
        log.open("a", encoding="utf-8") as result_log,
        Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as bar,
    ):
        task = bar.add_task("Emitting" if not dry_run else "Checking", total=len(planned))
        for outcome in send(
            planned,
            url,
            token,
            retries=settings.emission_retries,
            timeout=settings.emission_timeout,
            dry_run=dry_run,
        ):
            result_log.write(outcome.line() + "\n")
            result_log.flush()
            outcomes.append(outcome)
            bar.advance(task)
            if not dry_run and not sys.stdout.isatty():
                detail = f" ({outcome.error})" if outcome.error else ""
                out.print(f"{outcome.status}: {outcome.key}{detail}", markup=False, soft_wrap=True)
    if not dry_run and sys.stdout.isatty():
        _table(out, outcomes)
    bad = [o for o in outcomes if o.status in (FAILED, SKIPPED)]
    sent = len(outcomes) - len(bad)
    verb = "checked" if dry_run else "sent"
    summary = f"{sent} of {len(outcomes)} files {verb}; {len(bad)} not; result log: {log}"
    if bad:  # some files were not sent: the run failed (exit status 1), the summary says how many
        raise ExhaustError(summary)
    err.print(summary, markup=False)


def _table(out, outcomes) -> None:
    from rich.table import Table

    table = Table(title="Emission")
    for column in ("file", "data source", "status", "bytes", "attempts", "error"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(
            o.key or o.file, o.data_source or "", o.status, str(o.bytes), str(o.attempts), o.error or ""
        )
    out.print(table)


def _credentials():
    from exhaust.emission.tables import open_cqube_engine
    from exhaust.emission.tokens import Credentials
    from exhaust.settings import get_settings

    return Credentials(open_cqube_engine(get_settings()))


@token_app.command("create")
def token_create(
    consumer: Annotated[
        str,
        typer.Option(
            "--consumer", metavar="NAME", help="Consumer name (the emitting system).", show_default=False
        ),
    ],
    admin: Annotated[
        bool, typer.Option("--admin", help="May also list and download (cQube's admin).")
    ] = False,
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", metavar="DAYS", help="Token lifetime in days (default: none)."),
    ] = None,
) -> None:
    """Mint a token for a consumer; the token is printed alone on the last line.

    \b
    Examples:
      exhaust emission token create --consumer state-lms
      exhaust emission token create --consumer cqube-admin --admin --expires-days 30
    """
    token = _credentials().create(consumer, admin=admin, expires_days=expires_days)
    _out, err = _consoles()
    err.print(f"token for consumer {consumer} ({'admin' if admin else 'emitter'}):", markup=False)
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    consumer: Annotated[str, typer.Argument(metavar="CONSUMER", help="Consumer name.", show_default=False)],
) -> None:
    """Revoke every token of a consumer.

    \b
    Example:
      exhaust emission token revoke state-lms
    """
    count = _credentials().revoke(consumer)
    if not count:
        raise ExhaustError(f"no active credentials for consumer {consumer}")
    out, _err = _consoles()
    out.print(f"revoked {count} credential(s) of {consumer}", markup=False)


@token_app.command("import")
def token_import(
    consumer: Annotated[
        str, typer.Option("--consumer", metavar="NAME", help="Consumer name.", show_default=False)
    ],
    key: Annotated[
        str,
        typer.Option(
            "--key",
            metavar="KEY",
            help="The Kong jwt credential's key (the tokens' iss).",
            show_default=False,
        ),
    ],
    secret: Annotated[
        str,
        typer.Option(
            "--secret", metavar="TEXT", help="The credential's secret (- reads stdin).", show_default=False
        ),
    ],
    admin: Annotated[bool, typer.Option("--admin", help="An admin consumer.")] = False,
) -> None:
    """Adopt a Kong jwt credential, so tokens cQube's admin console minted keep working.

    \b
    Example:
      echo "$KONG_SECRET" | exhaust emission token import --consumer state-lms --key a1b2c3 --secret -
    """
    if secret == "-":
        secret = sys.stdin.readline().rstrip("\n")
    _credentials().import_credential(consumer, key, secret, admin=admin)
    out, _err = _consoles()
    out.print(f"imported credential {key[:6]}… for {consumer}", markup=False)


@token_app.command("list")
def token_list() -> None:
    """Consumers and their credentials (never the secrets).

    \b
    Example:
      exhaust emission token list
    """
    out, _err = _consoles()
    for row in _credentials().consumers():
        state = "revoked" if row["revoked_at"] else "active"
        kind = "admin" if row["admin"] else "emitter"
        out.print(f"{row['consumer']}\t{kind}\t{state}\t{row['created_at']:%Y-%m-%d}", markup=False)


@emission_app.command("ingest")
def ingest(
    once: Annotated[bool, typer.Option("--once", help="Ingest everything waiting, then exit.")] = False,
) -> None:
    """Ingest emitted files: move to the input area, unzip, check, upsert, count (a long-running worker).

    \b
    Examples:
      exhaust emission ingest
      exhaust emission ingest --once
    """
    import logging

    from exhaust.emission.worker import run
    from exhaust.settings import get_settings

    out, err = _consoles()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    def report(result) -> None:
        c = result.counts
        line = (
            f"{result.status} {result.emission_key or result.filename} ({result.data_source}): "
            f"{c.processed_records if result.status == 'OK' else 0} of {c.total_records} rows loaded"
        )
        out.print(line + (f"; {result.reason}" if result.reason else ""), markup=False, soft_wrap=True)

    try:
        done, failed = run(get_settings(), once=once, on_result=report)
    except KeyboardInterrupt:
        raise typer.Exit() from None
    if failed:  # a file could not be taken (it is retried later): the run failed (exit status 1)
        raise ExhaustError(f"{done} file(s) ingested; {failed} could not be, retried later")
    err.print(f"{done} file(s) ingested", markup=False)


@emission_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="Newest files shown.")] = 50,
    data_source: Annotated[
        str | None, typer.Option("--data-source", metavar="NAME", help="Only this data source.")
    ] = None,
) -> None:
    """Counts and status of the ingested files (cQube's log_summary) and their error files.

    \b
    Examples:
      exhaust emission status
      exhaust emission status --json --limit 10 --data-source diksha_tpd
    """
    from exhaust.emission.ingest import summaries
    from exhaust.emission.tables import open_cqube_engine
    from exhaust.settings import get_settings

    rows = summaries(open_cqube_engine(get_settings()), limit, data_source)
    out, _err = _consoles()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str))
        return
    from rich.table import Table

    table = Table(title="Ingested files (newest first)")
    for column in (
        "file",
        "source",
        "status",
        "total",
        "blank",
        "dup",
        "type",
        "null rows",
        "processed",
        "errors / reason",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["filename"]),
            str(r["data_source"] or ""),
            str(r["status"]),
            *(
                str(r[k])
                for k in (
                    "total_records",
                    "blank_lines",
                    "duplicate_records",
                    "datatype_mismatch",
                    "count_of_null_rows",
                    "processed_records",
                )
            ),
            str(r["reason"] or r["error_file"] or ""),
        )
    out.print(table)
