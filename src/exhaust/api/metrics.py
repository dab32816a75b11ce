"""Prometheus metrics: API requests by endpoint, dataset and status; jobs by state; job durations; queue depth.

Request counters live in this process. Job figures are read from the job table at scrape time (one
grouped query, reused for a few seconds), so every API replica reports the same, whole-system numbers
and no worker needs an HTTP port of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from exhaust.jobs.datasets import DATASETS
from exhaust.jobs.store import FAILED, SUBMITTED, SUCCESS, JobStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Job duration buckets in seconds (a 100k-learner batch targets 10 s; the PRD allows 30 minutes).
JOB_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10)
SCRAPE_CACHE_SECONDS = 5.0


class JobCollector(Collector):
    """Job counts, queue depth and duration histograms from the job table."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > SCRAPE_CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read())
            yield from self._cached[1]

    def _read(self) -> list[Metric]:
        t = self.store.t
        finished = t.c.status.in_([SUCCESS, FAILED])
        seconds = t.c.execution_time / 1000.0
        buckets = [
            sa.func.sum(sa.case((sa.and_(finished, seconds <= bound), 1), else_=0)).label(f"le_{i}")
            for i, bound in enumerate(JOB_BUCKETS)
        ]
        query = sa.select(
            t.c.job_id,
            t.c.status,
            sa.func.count().label("n"),
            sa.func.sum(sa.case((sa.and_(finished, t.c.execution_time.is_not(None)), 1), else_=0)).label(
                "timed"
            ),
            sa.func.sum(sa.case((finished, seconds), else_=0)).label("total_seconds"),
            *buckets,
        ).group_by(t.c.job_id, t.c.status)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()

        jobs = GaugeMetricFamily(
            "exhaust_jobs", "Requests in the job table by dataset and status.", labels=["dataset", "status"]
        )
        queue = GaugeMetricFamily("exhaust_queue_depth", "Requests waiting for a worker (SUBMITTED).")
        durations = HistogramMetricFamily(
            "exhaust_job_duration_seconds", "Run time of finished requests.", labels=["dataset"]
        )
        waiting = 0
        per_dataset: dict[str, list[float]] = {}
        for row in rows:
            dataset, status = row["job_id"] or "", row["status"] or ""
            jobs.add_metric([dataset, status], int(row["n"]))
            if status == SUBMITTED:
                waiting += int(row["n"])
            if status in (SUCCESS, FAILED) and row["timed"]:
                acc = per_dataset.setdefault(dataset, [0.0] * (len(JOB_BUCKETS) + 2))
                for i in range(len(JOB_BUCKETS)):
                    acc[i] += int(row[f"le_{i}"] or 0)
                acc[-2] += int(row["timed"])
                acc[-1] += float(row["total_seconds"] or 0)
        queue.add_metric([], waiting)
        for dataset, acc in sorted(per_dataset.items()):
            points = [(str(bound), acc[i]) for i, bound in enumerate(JOB_BUCKETS)] + [("+Inf", acc[-2])]
            durations.add_metric([dataset], points, sum_value=acc[-1])
        return [jobs, queue, durations]


class ApiMetrics:
    """The registry of one app (not the global one, so several apps in one process never collide)."""

    def __init__(self, store: JobStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "exhaust_api_requests",
            "API requests by endpoint, dataset and HTTP status.",
            ["endpoint", "dataset", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "exhaust_api_request_duration_seconds",
            "Time to answer an API request.",
            ["endpoint"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(JobCollector(store))
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, endpoint: str, dataset: str, status: int, seconds: float) -> None:
        """Count one answered request (an unknown dataset name is counted as "", never as a new label).

        The labelled children are kept here: `labels()` takes a lock and builds its key on every call.
        Label values are bounded (endpoints, datasets, statuses), so this dict is small.
        """
        key = (endpoint, dataset if dataset in DATASETS else "", status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(key[0], key[1], str(status)), self.latency.labels(endpoint))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def endpoint_of(path: str) -> str:
    """A bounded label for a path (tags and keys never become label values)."""
    for name in ("submit", "read", "list", "search"):
        if f"/request/{name}" in path:
            return name
    if path.startswith("/download/"):
        return "download"
    if path in ("/healthz", "/metrics"):
        return path.lstrip("/")
    if path.startswith("/dashboard"):
        return "dashboard"
    if path in ("/v1/telemetry", "/v1/download-ratio"):
        return path.rsplit("/", 1)[1]
    if path.startswith(("/docs", "/openapi", "/redoc")):
        return "docs"
    return "other"
