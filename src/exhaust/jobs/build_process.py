"""Build one report in a process of its own, at a lower CPU priority than the worker and the API.

The worker's lease renewals and the API answer from other processes, so a build that holds the GIL or
every core for minutes can neither starve a renewal nor slow the API much: the kernel gives the build
only the CPU time that higher-priority processes leave. A child that dies, or whose job's lease is lost,
ends the build; errors come back as the error taxonomy's kinds (terminal or transient).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from exhaust.errors import ExhaustError, TransientError


@dataclass(frozen=True)
class Built:
    rows: int


class BuildCrashed(RuntimeError):
    """The build process failed with an error of unknown kind, or died."""


def _child(conn: Connection, settings: Any, spec: str, dataset: str, batch_id: str, output: str,
           channel: str | None, profile: str | None, nice: int) -> None:  # fmt: skip
    try:
        if nice:
            os.nice(nice)
        from exhaust.reports.build import build_report
        from exhaust.sources.open import open_source

        result = build_report(
            open_source(spec, settings), dataset, batch_id, Path(output),
            requested_channel=channel, profile=profile, settings=settings,
        )  # fmt: skip
        conn.send(("ok", int(getattr(result, "rows", 0) or 0)))
    except ExhaustError as error:
        conn.send(("error", error.transient, error.message, getattr(error, "reason", None)))
    except BaseException as exc:
        conn.send(("crash", type(exc).__name__, str(exc)[:500]))
    finally:
        conn.close()


def build_in_process(
    settings: Any,
    dataset: str,
    batch_id: str,
    output: Path,
    *,
    channel: str | None,
    profile: str | None,
    check: Callable[[], None],
) -> Built:
    """Run `build_report` in a spawned child; `check()` runs while waiting and may raise (lease lost):
    the child is then ended and the error passed on."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(
            child,
            settings,
            settings.source_spec(),
            dataset,
            batch_id,
            str(output),
            channel,
            profile,
            int(settings.build_nice),
        ),
        name=f"build-{batch_id}",
        daemon=True,
    )
    process.start()
    child.close()
    try:
        while not parent.poll(0.2):
            check()
            if not process.is_alive() and not parent.poll(0):
                raise BuildCrashed(f"the build process ended with status {process.exitcode}")
        message = parent.recv()
    except EOFError:
        process.join(10)
        raise BuildCrashed(f"the build process ended with status {process.exitcode}") from None
    except BaseException:
        process.terminate()
        process.join(10)
        raise
    finally:
        parent.close()
    process.join(30)
    kind = message[0]
    if kind == "ok":
        return Built(rows=message[1])
    if kind == "error":
        _, transient, text, reason = message
        if transient:
            raise TransientError(text, reason=reason)
        raise ExhaustError(text)
    raise BuildCrashed(f"{message[1]}: {message[2]}")
