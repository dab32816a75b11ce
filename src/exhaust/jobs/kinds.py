"""Kinds of schedule that are not a dataset request (`tpd`, …): who registers them, and when.

A kind's module (e.g. `exhaust.tpd.hooks`) registers its action with the scheduler when it is imported;
it pulls in the scheduler and SQLAlchemy, so nothing imports it when the CLI starts. The composition
roots (`exhaust.cli`, the API) add a loader here; the schedule commands and the scheduler call
`load_kinds()` before they need the kinds. Light on purpose: importing this module imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable

_loaders: list[Callable[[], object]] = []


def add_kind_loader(loader: Callable[[], object]) -> None:
    """Run `loader` (which imports a kind's module) the first time the kinds are needed."""
    if loader not in _loaders:
        _loaders.append(loader)


def load_kinds() -> None:
    """Register every added kind with the scheduler (imports are cached: calling again is cheap)."""
    for loader in _loaders:
        loader()
