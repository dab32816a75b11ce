"""The dashboard's parts, opened once per app, and the recording of file downloads.

Layering: the dashboard sits on top of the API (it reuses its context, its rule of who may see a batch
and its submit path); the API only calls back into it through `ApiContext.on_download` and the metrics
registry, both wired in `mount.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

from exhaust.api.context import ApiContext
from exhaust.dashboard.figures import BatchFigures, Catalog
from exhaust.dashboard.ratio import RatioReport
from exhaust.dashboard.session import Sessions
from exhaust.dashboard.store import DashboardStore, Download
from exhaust.errors import ExhaustError
from exhaust.jobs.datasets import REPORT_KEYS
from exhaust.jobs.worker import SourceCache


@dataclass
class Dashboard:
    api: ApiContext
    store: DashboardStore
    sessions: Sessions
    figures: BatchFigures
    catalog: Catalog
    ratio: RatioReport

    def record_download(self, key: str) -> None:
        """Count a report file served through its link, under the request's channel and the batch's course."""
        parts = PurePosixPath(key).parts
        if len(parts) < 3:
            return
        dataset, request_id, name = parts[0], parts[1], parts[-1]
        job = self.api.store.get(request_id)
        if job is None:
            return  # not a report file of a known request
        report = REPORT_KEYS.get(dataset)
        batch_id = name.rsplit(f"_{report}_", 1)[0] if report and f"_{report}_" in name else None
        course_id = None
        if batch_id:
            try:
                facts = self.api.batches.lookup([batch_id]).get(batch_id)
            except ExhaustError:
                facts = None
            course_id = facts.course_id if facts is not None else None
        self.store.record_download(
            Download(
                channel=job.requested_channel or "",
                course_id=course_id,
                batch_id=batch_id,
                dataset=dataset,
                request_id=request_id,
                file_key=key,
            )
        )


def open_dashboard(ctx: ApiContext) -> Dashboard:
    """The dashboard over the API's job database and source (tables created when missing)."""
    from exhaust.sources.open import open_source

    settings = ctx.settings
    store = DashboardStore(ctx.store.engine)
    store.ensure_tables()
    spec = settings.source_spec()
    sources = SourceCache(lambda: open_source(spec, settings), settings.source_cache_seconds)
    catalog = Catalog(sources.get, settings)
    return Dashboard(
        api=ctx,
        store=store,
        sessions=Sessions(store, ctx.tokens, timedelta(hours=settings.dashboard_session_hours)),
        figures=BatchFigures(sources.get, settings),
        catalog=catalog,
        ratio=RatioReport(store, catalog),
    )
