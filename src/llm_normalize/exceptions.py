"""Every error llm_normalize raises on purpose.

```
LLMNormalizeError
├── ConfigurationError            the caller's mistake: a bad setting, an unknown field
│   └── UnknownFieldError         also LookupError
├── UnknownPostProcessorError     also LookupError
├── InputFormatError              a file that cannot be read as records at all
├── BackendError                  a model call failed; .retryable says whether to try again
│   ├── BackendThrottledError       retryable: too many requests (HTTP 429)
│   ├── BackendTimeoutError         retryable: the model or the connection timed out
│   ├── BackendUnavailableError     retryable: 5xx, service unavailable, model not ready
│   ├── BackendInvalidRequestError  not retryable: the request was malformed (HTTP 400)
│   └── BackendAccessDeniedError    not retryable: no permission, model not enabled
├── ResponseParseError            a model answer that is not the JSON asked for
└── StorageError                  a lead store failed (DynamoDB, SQLite)
```

Messages carry field names, ids, line numbers and lengths, never field values:
they end up in logs, and field values are personal data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BackendAccessDeniedError",
    "BackendError",
    "BackendInvalidRequestError",
    "BackendThrottledError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "ConfigurationError",
    "InputFormatError",
    "LLMNormalizeError",
    "ResponseParseError",
    "StorageError",
    "UnknownFieldError",
    "UnknownPostProcessorError",
]


class LLMNormalizeError(Exception):
    """Base class of the errors llm_normalize raises."""


class ConfigurationError(LLMNormalizeError):
    """The library was set up wrongly: a bad setting, a bad argument, an unknown field."""


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


class BackendUnavailableError(BackendError):
    """The service failed or is not ready (HTTP 5xx, model not ready)."""

    retryable = True


class BackendInvalidRequestError(BackendError):
    """The service rejected the request as malformed (HTTP 400); sending it again is useless."""


class BackendAccessDeniedError(BackendError):
    """The caller may not use the model (no permission, model not enabled, unknown model)."""


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
