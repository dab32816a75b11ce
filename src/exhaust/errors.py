"""Errors that are safe to show a user: one plain sentence, never a traceback.

The CLI turns any of these into its message on stderr and `exit_code` as the exit status (0 ok,
1 failed, 2 not found or bad usage), in one place (`exhaust.console.run`).
"""

from __future__ import annotations


class ExhaustError(Exception):
    """Base class for errors whose message is meant for the person who asked."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(ExhaustError):
    """The request or the source data is not usable as given."""


class SourceDataError(BadInput):
    """A source file or row is malformed: the message names the file, line and column."""


class MissingTable(SourceDataError):
    """A table every report needs is absent from the source."""


class NotFound(ExhaustError):
    """The thing asked for (a batch, a request, a token) does not exist."""

    exit_code = 2


class SettingsError(ExhaustError):
    """An EXHAUST_* setting has a value that cannot be used (the message names the variable)."""

    exit_code = 2


class MissingExtra(ExhaustError):
    """An optional part is used but its packages are not installed (the message names the extra)."""

    def __init__(self, extra: str, needed_for: str) -> None:
        super().__init__(f"{needed_for} needs the [{extra}] extra: pip install 'exhaust[{extra}]'")
        self.extra = extra


class BatchNotFound(NotFound):
    """The requested batch id does not exist in the source."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(f"batch {batch_id} not found")
        self.batch_id = batch_id


class HierarchyNotFound(ExhaustError):
    """The collection of a batch has no content hierarchy."""

    def __init__(self, collection_id: str) -> None:
        super().__init__(f"no content hierarchy for collection {collection_id}")
        self.collection_id = collection_id
