"""Errors that are safe to show a user: one plain sentence, never a traceback."""

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


class BatchNotFound(ExhaustError):
    """The requested batch id does not exist in the source."""

    exit_code = 2

    def __init__(self, batch_id: str) -> None:
        super().__init__(f"batch {batch_id} not found")
        self.batch_id = batch_id


class HierarchyNotFound(ExhaustError):
    """The collection of a batch has no content hierarchy."""

    def __init__(self, collection_id: str) -> None:
        super().__init__(f"no content hierarchy for collection {collection_id}")
        self.collection_id = collection_id


class RemoteServiceError(ExhaustError):
    """A remote service (a dataset API, a download link) refused or failed; `transient` says retry later."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class EmittedFileRejected(BadInput):
    """A whole emitted file cannot be ingested (not a zip, no CSV, wrong delimiter, missing column)."""


class EmissionUnauthorized(ExhaustError):
    """An emission API call without a valid, unexpired, unrevoked token."""


class SourceDown(ExhaustError):
    """The platform data could not be read just now (a transient outage; try again shortly)."""


class EncryptedValues(BadInput):
    """A report would show Sunbird ciphertext (the PII salt is unset or wrong): it is refused, never written."""

    def __init__(self, header: str, salt_set: bool) -> None:
        reason = "does not decrypt them" if salt_set else "is not set"
        super().__init__(
            f"{header} holds Sunbird-encrypted values and EXHAUST_SUNBIRD_ENCRYPTION_KEY {reason}: "
            "set it to the platform's sunbird_encryption_key"
        )


class EngineOutOfMemory(ExhaustError):
    """The report needs more memory than the engine may use (EXHAUST_DUCKDB_MEMORY_LIMIT)."""
