"""Every error llm_normalize raises on purpose.

```
LLMNormalizeError
├── ConfigurationError            the caller's mistake: a bad setting, an unknown field
│   └── UnknownFieldError         also LookupError
├── UnknownPostProcessorError     also LookupError
└── InputFormatError              a file that cannot be read as records at all
```

Messages carry field names, ids, line numbers and lengths, never field values:
they end up in logs, and field values are personal data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigurationError",
    "InputFormatError",
    "LLMNormalizeError",
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
