"""Requests refused on the collection's metadata, before any learner data is read (Sunbird's order)."""

from __future__ import annotations

from exhaust.engine.userinfo import NOT_APPLICABLE
from exhaust.errors import BadInput, ExhaustError
from exhaust.sources.collections import asks_user_consent, is_retired

RETIRED = "The request is made for retired collection"
# Reports computed from the tree (progress, levels, scores); the others only need the collection's record.
NEEDS_HIERARCHY = frozenset({"progress-exhaust", "course-mentor"})


class RetiredCollection(ExhaustError):
    """The collection is retired (Sunbird's message)."""

    def __init__(self) -> None:
        super().__init__(RETIRED)


def check_collection(dataset: str, record: dict | None) -> None:
    """Refuse a retired collection, and a user-info report of one that does not ask for consent."""
    if is_retired(record):
        raise RetiredCollection()
    if dataset == "userinfo-exhaust" and record is not None and not asks_user_consent(record):
        raise BadInput(NOT_APPLICABLE)
