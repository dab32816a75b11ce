"""The cQube TPD feed: scheduled progress-exhaust requests into `diksha_tpd` and its course aggregates."""

from exhaust.tpd import hooks as _hooks  # registers the feed with the workers' scheduler

__all__ = ["_hooks"]
