"""`exhaust serve` and `exhaust token …` (the lead wires `serve` and `token_app` into the main CLI).

`token create` prints the new token alone on stdout (for scripts); it is stored only as a hash, so it
cannot be shown again. Messages go to stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from exhaust.console import command_group
from exhaust.errors import NotFound

if TYPE_CHECKING:
    from fastapi import FastAPI

    from exhaust.settings import Settings

token_app = command_group("API bearer tokens: one per user (org admin, course mentor) or service consumer.")


def get_settings() -> Settings:
    """The process settings (pydantic is imported when a command runs, not for --help)."""
    from exhaust.settings import get_settings as settings

    return settings()


def _tokens():
    from exhaust.api.auth import TokenStore
    from exhaust.jobs.service import open_store

    settings = get_settings()
    tokens = TokenStore(open_store(settings).engine, settings.api_token_table)
    tokens.ensure_table()
    return tokens


@token_app.command("create")
def create_token(
    channel: Annotated[
        str,
        typer.Option(
            "--channel",
            metavar="ORG",
            help="The org id the token acts for (sent as X-Channel-ID).",
            show_default=False,
        ),
    ],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            metavar="ROLE",
            help="ORG_ADMIN, COURSE_MENTOR or SERVICE (repeat for several user roles).",
            show_default=False,
        ),
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="ID", help="User id (required for ORG_ADMIN and COURSE_MENTOR)."),
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in", metavar="LIFETIME", help="Lifetime such as 90d, 12h, 2w (default: until revoked)."
        ),
    ] = None,
) -> None:
    """Create a token and print it (shown once; only its hash is stored).

    \b
    Examples:
      exhaust token create --channel ORG_1 --role ORG_ADMIN --user U1
      exhaust token create --channel ORG_1 --role SERVICE --expires-in 90d
    """
    from exhaust.api.auth import parse_lifetime

    lifetime = parse_lifetime(expires_in) if expires_in is not None else None
    token = _tokens().create(channel=channel, roles=role, user_id=user, expires_in=lifetime)
    typer.echo(token)


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[
        str, typer.Argument(metavar="TOKEN_ID", help="The id shown by `token list`.", show_default=False)
    ],
) -> None:
    """Revoke a token at once.

    \b
    Example:
      exhaust token revoke 3f2a9c
    """
    if not _tokens().revoke(token_id):
        raise NotFound(f"no active token with id {token_id}")
    typer.echo(f"token {token_id} revoked", err=True)


TOKEN_LIST_HEADER = "id\tchannel\troles\tuser\tcreated\trevoked\texpires"


@token_app.command("list")
def list_tokens() -> None:
    """List tokens (a header row, then id, channel, roles, user, created, revoked, expires); never the
    tokens themselves. `-` means not revoked / never expires.

    \b
    Example:
      exhaust token list
    """
    typer.echo(TOKEN_LIST_HEADER)
    for info in _tokens().list():
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else "-"
        expires = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "-"
        typer.echo(
            f"{info.token_id}\t{info.channel}\t{','.join(info.roles)}\t{info.user_id or '-'}\t"
            f"{info.created_at.isoformat(timespec='seconds')}\t{revoked}\t{expires}"
        )


def _configure_logging() -> None:
    from exhaust.logs import configure

    configure("%(asctime)s %(levelname)s %(name)s %(message)s")


def app_factory() -> FastAPI:
    """The app of one server process (Uvicorn calls this in each worker process when `workers` > 1)."""
    from exhaust.api.app import create_app

    _configure_logging()
    return create_app(get_settings())


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the API on Uvicorn until interrupted (settings from EXHAUST_* variables).

    `workers` > 1 starts that many server processes on the one port (the job store, tokens and
    signing secret are shared through the database and settings, so any process answers any call).
    """
    import uvicorn

    _configure_logging()
    # Uvicorn's own access log would print query strings (download signatures); ours prints paths only.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": "info",
        "server_header": False,
        # Idle keep-alive connections stay open longer than the usual proxies' and load balancers' idle
        # timeouts (60 s), so a proxy never sends a request on a connection the server is closing.
        "timeout_keep_alive": 75,
    }
    if workers > 1:
        uvicorn.run("exhaust.api.cli:app_factory", factory=True, workers=workers, **options)
        return
    uvicorn.run(app_factory(), **options)
