"""Open the configured job store, storage and signer (what the CLI, the workers and the API share)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from exhaust.errors import ExhaustError
from exhaust.outputs.signing import UrlSigner
from exhaust.outputs.storage import Storage, open_storage

if TYPE_CHECKING:
    from exhaust.jobs.store import JobStore

_lock = threading.Lock()
_engines: dict[str, Any] = {}


def open_store(settings: Any, *, upgrade: bool = True) -> JobStore:
    """The job store of `settings`, its schema brought up to date first (one engine per URL and process).

    SQLAlchemy is imported here, not with the module: `exhaust status` signs links without a store."""
    import sqlalchemy as sa

    from exhaust.jobs.db import database_url, make_engine
    from exhaust.jobs.store import JobStore

    url = database_url(settings)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
    if upgrade:
        from exhaust.jobs import migrate  # Alembic loads slowly: only when the schema is checked

        try:
            migrate.upgrade(engine, settings.job_table)
        except sa.exc.OperationalError as exc:
            where = engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise ExhaustError(f"the job store {where} cannot be reached ({reason})") from None
    return JobStore(engine, settings.job_table, settings.timezone)


def open_signer(settings: Any, storage: Storage | None = None) -> UrlSigner:
    """The URL signer of `storage`; without one, the configured storage is opened on the first link signed."""
    return UrlSigner(storage or (lambda: open_storage(settings)), settings)


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
