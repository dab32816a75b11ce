"""The TPD feed's part in the workers' scheduler: a `tpd` schedule starts a run, the leader advances runs.

Registered when this module is imported: `exhaust.cli` adds it as a kind loader (`exhaust.jobs.kinds`),
so the schedule commands and every `exhaust worker`'s scheduler load it; the API imports it.
"""

from __future__ import annotations

from typing import Any

from exhaust.jobs.scheduler import register_action, register_emitted, register_periodic

_feeds: dict[int, Any] = {}


def _feed(settings: Any):
    """One feed per settings object and process (it holds the cQube engine and the storage)."""
    from exhaust.tpd.feed import TpdFeed

    feed = _feeds.get(id(settings))
    if feed is None or feed.settings is not settings:
        feed = _feeds[id(settings)] = TpdFeed(settings)
    return feed


def _scheduled_run(settings: Any, _schedule: Any) -> str:
    return _feed(settings).start()


def _advance_runs(settings: Any) -> None:
    if settings.tpd_api_url:
        _feed(settings).advance_all()


def _emitted_ids(settings: Any) -> list[str]:
    from exhaust.emission.tables import open_cqube_engine
    from exhaust.tpd.feed import emitted_batch_ids

    return emitted_batch_ids(open_cqube_engine(settings))


register_action("tpd", _scheduled_run)
register_periodic("tpd", _advance_runs)
register_emitted("batch-ids", _emitted_ids)
