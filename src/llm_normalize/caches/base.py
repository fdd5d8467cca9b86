"""The value cache's contract: the `ValueCache` protocol and its key, `CacheKey`.

The pipeline sends each distinct ``(field, raw value)`` pair to the model once per run; a
cache carries answers further, across runs of one process (or, with a persistent cache,
across processes). A key is ``(field key, raw value, prompt version)``: a changed
instruction or example changes the prompt version and so misses every old entry, and the
field key (`cache_key`) makes ``nivelEducativo`` and ``nivel_educativo`` one field.

Only answers that passed the guard belong in a cache. Values are personal data: a cache
never logs them, and its ``repr`` shows only sizes and counters.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

from llm_normalize._names import field_key

__all__ = ["CacheKey", "ValueCache", "cache_key"]

CacheKey: TypeAlias = tuple[str, str, str]
"""``(field key, raw value, prompt version)``; build it with `cache_key`."""


def cache_key(field: str, raw: str, prompt_version: str) -> CacheKey:
    """Build the cache key of a raw value of `field` under a prompt version.

    The field name is reduced to its matching key, so camelCase and snake_case spellings
    share entries; the raw value is kept exactly as sent to the model.

    Examples:
        >>> cache_key("nivelEducativo", "bachiller", "0123456789ab")
        ('niveleducativo', 'bachiller', '0123456789ab')
    """
    return (field_key(field), raw, prompt_version)


@runtime_checkable
class ValueCache(Protocol):
    """Where the pipeline remembers model answers. Implementations must be thread-safe."""

    def get(self, key: CacheKey) -> str | None:
        """Return the value stored under `key`, or None."""
        ...

    def set(self, key: CacheKey, value: str) -> None:
        """Store `value` under `key`, replacing any value there."""
        ...
