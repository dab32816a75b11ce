"""Everything a request handler needs, opened once per app: job store, storage, signer, tokens, batches, metrics."""

from __future__ import annotations

from dataclasses import dataclass

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
    )


def context_of(request: Request) -> ApiContext:
    return request.app.state.context
