"""Adds the dashboard to the API app: pages, static files, telemetry, download counting and the gauge."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exhaust.api.context import ApiContext
from exhaust.api.contract import add_security_schemes
from exhaust.api.middleware import describe, log
from exhaust.dashboard import api, contract, pages
from exhaust.dashboard.ratio import DEFAULT_DAYS, RatioReport
from exhaust.dashboard.service import open_dashboard

STATIC = Path(__file__).parent / "static"
GAUGE_CACHE_SECONDS = 60.0


class RatioCollector(Collector):
    """`exhaust_download_ratio{channel}` and `exhaust_download_ratio_all` over the last 30 days.

    Computed at scrape time at most once a minute (it reads the event tables and the course catalogue).
    """

    def __init__(self, ratio: RatioReport) -> None:
        self.ratio = ratio
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > GAUGE_CACHE_SECONDS:
                try:
                    self._cached = (time.monotonic(), self._read())
                except Exception as exc:  # a scrape never fails because the source is down
                    log.warning("download ratio gauge not computed: %s", describe(exc))
                    self._cached = (time.monotonic(), [])
            yield from self._cached[1]

    def _read(self) -> list[Metric]:
        end = datetime.now(UTC).date()
        figures = self.ratio.compute(end - timedelta(days=DEFAULT_DAYS - 1), end, None)
        per_tenant = GaugeMetricFamily(
            "exhaust_download_ratio",
            "Report downloads per batch with enrolments, last 30 days, by tenant (channel).",
            labels=["channel"],
        )
        for tenant in figures.tenants:
            per_tenant.add_metric([tenant.key], tenant.ratio or 0.0)
        overall = GaugeMetricFamily(
            "exhaust_download_ratio_all",
            "Report downloads per batch with enrolments, last 30 days, all tenants.",
        )
        overall.add_metric([], figures.overall.ratio or 0.0)
        return [per_tenant, overall]


def mount_dashboard(app: FastAPI, ctx: ApiContext) -> None:
    """Mount `/dashboard/…`, `/v1/telemetry` and `/v1/download-ratio` on `app` over the API's context."""
    dashboard = open_dashboard(ctx)
    app.state.dashboard = dashboard
    app.include_router(pages.router)
    app.include_router(pages.data_router)
    app.include_router(api.router)
    add_security_schemes(app, contract.SECURITY_SCHEMES)
    app.mount(f"{pages.PREFIX}/static", StaticFiles(directory=STATIC), name="dashboard-static")
    ctx.on_download.append(dashboard.record_download)
    ctx.metrics.registry.register(RatioCollector(dashboard.ratio))
