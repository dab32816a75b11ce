"""Builds run in a process of their own at a lower CPU priority (issue 14, defect 10 and the load target).

The worker keeps its lease renewals in its own process, so a build's CPU and GIL use cannot starve them;
the kernel favours the API and the renewals over the build.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from exhaust.jobs.store import FAILED, SUCCESS
from exhaust.jobs.worker import Worker


@pytest.fixture
def backend() -> str:
    return "sqlite"


def children_niceness() -> dict[int, int]:
    """Niceness of each child process of this one (from /proc)."""
    found = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            found[int(pid)] = int(fields[16])  # field 19 of stat: nice
    return found


def test_the_real_build_runs_in_a_lower_priority_child_process(store, storage, settings) -> None:
    niced = settings.model_copy(update={"build_process": True, "build_nice": 7})
    job = store.submit("progress-exhaust", {"batchId": "b1"}, tag="proc", channel="ch-1")[0]
    seen: dict[int, int] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(children_niceness())
            done.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        Worker(store, storage, niced).run_one()  # no injected builder or source: the production path
    finally:
        done.set()
        watcher.join()
    ended = store.get(job.request_id)
    assert ended.status == SUCCESS, ended.err_message
    assert ended.processed_batches[0]["rows"] == 3
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert own + 7 in seen.values()  # the build process, 7 steps nicer than the worker


def test_a_terminal_error_in_the_build_process_fails_the_job_at_once(store, storage, settings) -> None:
    job = store.submit("progress-exhaust", {"batchId": "b1", "profile": "no_such_profile"}, tag="bad",
                       channel="ch-1")[0]  # fmt: skip
    Worker(store, storage, settings.model_copy(update={"build_process": True})).run_one()
    ended = store.get(job.request_id)
    assert ended.status == FAILED and ended.iteration == 1
    assert "no_such_profile" in ended.err_message
