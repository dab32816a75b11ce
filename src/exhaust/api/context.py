"""Everything a request handler needs, opened once per app: job store, storage, signer, tokens, batches, metrics."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from exhaust.api.auth import TokenStore
from exhaust.api.batches import BatchDirectory
from exhaust.api.metrics import ApiMetrics
from exhaust.jobs.service import open_signer, open_store
from exhaust.jobs.store import JobStore
from exhaust.outputs.signing import UrlSigner
from exhaust.outputs.storage import Storage, open_storage
from exhaust.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    store: JobStore
    storage: Storage
    signer: UrlSigner
    tokens: TokenStore
    batches: BatchDirectory
    metrics: ApiMetrics
    #: The dataset request handlers' blocking work (database, source) runs here: a plain executor hop
    #: costs the event loop about a third of anyio's `run_in_threadpool`, which matters in a burst.
    executor: ThreadPoolExecutor = field(default_factory=ThreadPoolExecutor)
    #: At most one call per thread is handed over; the rest wait in the event loop, so the threads
    #: never race ahead of it for the GIL while answers wait to be sent.
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(10))
    #: Called with the key of each file served by `/download/` (the dashboard counts downloads).
    on_download: list[Callable[[str], None]] = field(default_factory=list)


def open_context(settings: Settings) -> ApiContext:
    """Open the configured parts; the job and token tables are created or upgraded first."""
    from exhaust.sources.open import open_source

    store = open_store(settings)
    storage = open_storage(settings)
    tokens = TokenStore(store.engine, settings.api_token_table, settings.api_token_cache_seconds)
    tokens.ensure_table()
    spec = settings.source_spec()
    return ApiContext(
        settings=settings,
        store=store,
        storage=storage,
        signer=open_signer(settings, storage),
        tokens=tokens,
        batches=BatchDirectory(lambda: open_source(spec, settings), settings.source_cache_seconds),
        metrics=ApiMetrics(store),
        executor=ThreadPoolExecutor(settings.api_threads, thread_name_prefix="exhaust-api"),
        slots=asyncio.Semaphore(settings.api_threads),
    )


def context_of(request: Request) -> ApiContext:
    return request.app.state.context


T = TypeVar("T")


async def in_thread(ctx: ApiContext, func: Callable[..., T], *args: Any) -> T:
    """Run blocking `func(*args)` in the context's threads (context variables carried over, as anyio does)."""
    call = functools.partial(contextvars.copy_context().run, func, *args)
    async with ctx.slots:
        return await asyncio.get_running_loop().run_in_executor(ctx.executor, call)
