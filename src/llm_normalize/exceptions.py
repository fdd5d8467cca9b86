"""Every error llm_normalize raises on purpose.

```
LLMNormalizeError
├── ConfigurationError            the caller's mistake: a bad setting, an unknown field
│   ├── StoreNotFoundError        a store URL that points at no database file or table
│   └── UnknownFieldError         also LookupError
├── UnknownPostProcessorError     also LookupError
├── InputFormatError              a file that cannot be read as records at all
├── BackendError                  a model call failed; .retryable says whether to try again
│   ├── BackendThrottledError       retryable: too many requests (HTTP 429)
│   ├── BackendTimeoutError         retryable: the model or the connection timed out
│   │   └── DeadlineExceededError     the run's deadline left no time for the call
│   ├── BackendUnavailableError     retryable: 5xx, service unavailable, model not ready
│   ├── BackendInvalidRequestError  not retryable: the request was malformed (HTTP 400)
│   └── BackendAccessDeniedError    not retryable: no permission, model not enabled
├── ModelFailedError              the model cannot be used: the run stopped, nothing undecided saved
├── ResponseParseError            a model answer that is not the JSON asked for
└── StorageError                  a lead store failed (DynamoDB, SQLite)
    └── PartialWriteError           an import wrote some items, not all; .written, .failed
```

Messages carry field names, ids, line numbers and lengths, never field values:
they end up in logs, and field values are personal data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llm_normalize.report import RunReport

__all__ = [
    "BackendAccessDeniedError",
    "BackendError",
    "BackendInvalidRequestError",
    "BackendThrottledError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "BatchJobRecordedError",
    "ConfigurationError",
    "DeadlineExceededError",
    "InputFormatError",
    "LLMNormalizeError",
    "ModelFailedError",
    "PartialWriteError",
    "ResponseParseError",
    "StorageError",
    "StoreNotFoundError",
    "UnknownFieldError",
    "UnknownPostProcessorError",
]


class LLMNormalizeError(Exception):
    """Base class of the errors llm_normalize raises."""


class ConfigurationError(LLMNormalizeError):
    """The library was set up wrongly: a bad setting, a bad argument, an unknown field."""


class StoreNotFoundError(ConfigurationError):
    """A lead store opened without `create` does not exist: no such SQLite file or DynamoDB table.

    Usually a typo in the store URL. The message names the file (or the table and its
    region), never a lead.
    """


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    candidates = sorted(set(known))
    close = difflib.get_close_matches(name, candidates, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if candidates:
        return f"; known: {', '.join(candidates)}"
    return ""


class UnknownFieldError(ConfigurationError, LookupError):
    """A field name that neither the profile nor the registry knows."""

    def __init__(self, field: str, known: Iterable[str] = ()) -> None:
        self.field = field
        super().__init__(f"unknown field {field!r}{_did_you_mean(field, known)}")

    def __str__(self) -> str:
        # LookupError.__str__ would quote the whole message again.
        return str(self.args[0])


class UnknownPostProcessorError(LLMNormalizeError, LookupError):
    """No post-processor is registered under that name."""

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        super().__init__(f"no post-processor named {name!r}{_did_you_mean(name, known)}")

    def __str__(self) -> str:
        return str(self.args[0])


class InputFormatError(LLMNormalizeError):
    """An input file cannot be read as records (not a file, unknown format, no header)."""


class BackendError(LLMNormalizeError):
    """A model call failed.

    Attributes:
        retryable: Whether the same request may succeed if sent again later.
        attempts: How many times the request was sent before giving up.
        code: The service's error code (e.g. ``"ThrottlingException"``), if any.
    """

    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.attempts = attempts


class BackendThrottledError(BackendError):
    """The service refused the call because of its rate limits (HTTP 429)."""

    retryable = True


class BackendTimeoutError(BackendError):
    """The model or the connection timed out (HTTP 408, read timeout)."""

    retryable = True


class DeadlineExceededError(BackendTimeoutError):
    """The run's deadline came before the call could be made, retried or finished.

    Retryable: the next run, with time, may make it. The values of the call stay undecided
    and their leads stay due.
    """


class BackendUnavailableError(BackendError):
    """The service failed or is not ready (HTTP 5xx, model not ready)."""

    retryable = True


class BackendInvalidRequestError(BackendError):
    """The service rejected the request as malformed (HTTP 400); sending it again is useless."""


class BackendAccessDeniedError(BackendError):
    """The caller may not use the model (no permission, model not enabled, unknown model)."""


class ModelFailedError(LLMNormalizeError):
    """The model cannot be used, so the run stopped: nothing it left undecided was saved.

    Raised when a call fails in a way that no retry can fix (access denied, an invalid
    request, an unknown model, bad credentials), or when every model call of the run failed
    after its retries (a throttle storm, an unreachable endpoint). Leads saved before it
    were fully decided and stay saved; every other lead is untouched and still due.

    Attributes:
        cause: The model error that stopped the run.
        report: The run's report up to the failure, when a run was open (set by the job
            and by `Normalizer.normalize_with_report`).
        statuses: What became of each lead the job reached before the failure, by lead id.
    """

    def __init__(self, message: str, cause: BackendError) -> None:
        super().__init__(message)
        self.cause = cause
        self.report: RunReport | None = None
        self.statuses: Mapping[str, str] = {}


class ResponseParseError(LLMNormalizeError):
    """A model answer could not be read as the JSON asked for.

    The message and `errors` describe the problem by position and kind; they never quote
    the answer, which may echo field values.
    """

    def __init__(self, message: str, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


class StorageError(LLMNormalizeError):
    """A lead store failed: a table is missing, a request was refused, a file is unreadable.

    Messages name tables, lead ids and error codes, never attribute values.
    """


class BatchJobRecordedError(StorageError):
    """A store already records a batch job in flight, so another one was not recorded.

    Collect the recorded one first (run ``llm-normalize backfill`` again), or clear it.

    Attributes:
        recorded: The recorded job's text (ids and S3 locations, never a field value).
    """

    def __init__(self, message: str, *, recorded: str) -> None:
        super().__init__(message)
        self.recorded = recorded


class PartialWriteError(StorageError):
    """An import wrote some of its items and not the others.

    Raised by `DynamoDBLeadStore.put`, whose batches are written one after the other (the
    SQLite and memory stores write all or nothing). Importing the same items again is safe:
    ids are kept, so each item replaces itself.

    Attributes:
        written: The lead ids that were written, in the order given.
        failed: The lead ids that were not written (refused, left unprocessed after the
            retries, or never sent because the import stopped), in the order given.
    """

    def __init__(
        self, message: str, *, written: Iterable[str] = (), failed: Iterable[str] = ()
    ) -> None:
        super().__init__(message)
        self.written = tuple(written)
        self.failed = tuple(failed)
