"""Errors that are safe to show a user: one plain sentence, never a traceback.

The taxonomy tells a caller whether to try again (`is_transient`):

- `TransientError`: a source, store, storage or service was down or slow. The same work may succeed
  later, so workers retry it with back-off; its `reason` is what a requester sees (its message, which
  may name hosts or paths, is for the log).
- `BadInput` and every other `ExhaustError`: terminal. The request or the data is not usable as given;
  running again would not help, so a job fails at once with the message.
- Any other exception is a fault of unknown kind (a bug, or a library error we do not classify):
  workers retry it too, a bounded number of times, and requesters see a plain sentence.

The CLI turns any of these into its message on stderr and `exit_code` as the exit status (0 ok,
1 failed, 2 not found or bad usage, 3 a service unreachable: try again), in one place (`exhaust.console.run`).
"""

from __future__ import annotations


class ExhaustError(Exception):
    """Base class for errors whose message is meant for the person who asked."""

    exit_code = 1
    #: Whether trying the same work again later may succeed.
    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(ExhaustError):
    """The request or the source data is not usable as given."""


class TransientError(ExhaustError):
    """A source, store or service is unreachable or too slow right now; retried with back-off."""

    exit_code = 3
    transient = True
    #: The plain reason shown to a requester (the message may hold hosts, paths or driver wording).
    reason = "a service the report needs could not be reached"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class StoreUnavailable(TransientError):
    """The job store (the database) cannot be reached or refused the statement for now."""

    reason = "the job store could not be reached"


class StorageUnavailable(TransientError):
    """Report storage cannot be written (unreachable, read-only or full)."""

    reason = "the report storage could not be written"


class SettingError(BadInput):
    """A setting (EXHAUST_* variable) has a value that cannot be used."""

    exit_code = 2


class SourceDataError(BadInput):
    """A source file or row is malformed: the message names the file, line and column."""


class MissingTable(SourceDataError):
    """A table every report needs is absent from the source."""


class NotFound(ExhaustError):
    """The thing asked for (a batch, a request, a token) does not exist."""

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


class RemoteServiceError(ExhaustError):
    """A remote service (a dataset API, a download link) refused or failed; `transient` (set per error,
    overriding the class's) says whether to retry later."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class EmittedFileRejected(BadInput):
    """A whole emitted file cannot be ingested (not a zip, no CSV, wrong delimiter, missing column)."""


class EmissionUnauthorized(ExhaustError):
    """An emission API call without a valid, unexpired, unrevoked token."""


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


#: Exception types of libraries that mean "down or slow, try later" (matched by name: no imports here).
_TRANSIENT_NAMES = frozenset(
    {
        "OperationalError",  # SQLAlchemy / DB-API: connection refused, server gone, lock timeout
        "DisconnectionError",
        "InterfaceError",
        "TimeoutError",
        "ConnectError",  # httpx
        "ReadTimeout",
        "WriteTimeout",
        "ConnectTimeout",
        "PoolTimeout",
        "RemoteProtocolError",
        "BusyLoadingError",  # redis
        "NoHostAvailable",  # cassandra
        "EndpointConnectionError",  # botocore
    }
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` means "try again later" (see the module docstring); False for terminal errors.

    Exceptions outside this hierarchy are judged by type: connection and timeout errors of the OS and
    of the database, HTTP, Redis and S3 libraries are transient.
    """
    if isinstance(exc, ExhaustError):
        return exc.transient
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def is_terminal(exc: BaseException) -> bool:
    """True for errors that say the request or data is unusable: fail at once, never retry."""
    return isinstance(exc, ExhaustError) and not exc.transient
