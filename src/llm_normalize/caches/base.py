"""The value cache's contract: the `ValueCache` protocol and its key, `CacheKey`; `PurgeableCache`.

The pipeline sends each distinct ``(field, raw value)`` pair to the model once per run; a
cache carries answers further, across runs of one process (or, with a persistent cache,
across processes). A key is ``(field key, raw value, prompt version)``: a changed
instruction or example changes the prompt version and so misses every old entry, and the
field key (`cache_key`) makes ``nivelEducativo`` and ``nivel_educativo`` one field.

The third element of a key is the dispatcher's cache version, ``"<prompt version>@<model
id>"``. A rollback of a prompt version must also forget what that version taught the cache,
or the next run of the same version brings its answers straight back with no model call:
a cache that can do so is a `PurgeableCache` (the built-in caches are). `purge` is a
protocol of its own, not part of `ValueCache`, so caches with only ``get`` and ``set`` stay
valid value caches.

Only answers that passed the guard belong in a cache. Values are personal data: a cache
never logs them, and its ``repr`` shows only sizes and counters.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

from llm_normalize._names import field_key
from llm_normalize.exceptions import ConfigurationError

__all__ = [
    "CacheKey",
    "PurgeableCache",
    "ValueCache",
    "cache_key",
    "check_prompt_version",
    "matches_prompt_version",
]

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


@runtime_checkable
class PurgeableCache(ValueCache, Protocol):
    """A `ValueCache` that can forget every entry of one prompt version (for a rollback).

    `LRUCache`, `NullCache` and `DynamoDBValueCache` are purgeable caches.
    """

    def purge(self, prompt_version: str) -> int:
        """Remove every entry of `prompt_version`; return how many were removed.

        An entry belongs to `prompt_version` when its key's version is
        ``"<prompt_version>@<model id>"`` (as the dispatcher builds it), or equals
        `prompt_version` (so a full ``"<pv>@<model>"`` purges that model's entries only);
        see `matches_prompt_version`.

        Raises:
            ConfigurationError: `prompt_version` is empty or not a string.
        """
        ...


def matches_prompt_version(version: str, prompt_version: str) -> bool:
    """Whether a cache key's version belongs to `prompt_version` (see `PurgeableCache.purge`).

    Examples:
        >>> matches_prompt_version("0123456789ab@anthropic.claude-3-haiku", "0123456789ab")
        True
        >>> matches_prompt_version("0123456789ab", "0123456789ab")
        True
        >>> matches_prompt_version("0123456789abc@model", "0123456789ab")
        False
    """
    return version == prompt_version or version.startswith(f"{prompt_version}@")


def check_prompt_version(prompt_version: object) -> str:
    """Return `prompt_version` if it is a non-empty string, for `PurgeableCache.purge`.

    Raises:
        ConfigurationError: It is empty or not a string (an empty one would purge by accident).
    """
    if not isinstance(prompt_version, str) or not prompt_version.strip():
        raise ConfigurationError(
            "prompt_version must be a non-empty string, e.g. the prompt_version of a run report"
        )
    return prompt_version
