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

A remote cache answers many keys in one request: a `BatchedCache` also has ``get_many``
and ``set_many`` (the built-in caches do). Callers use the module's `get_many` and
`set_many` functions, which take any `ValueCache` and fall back to one ``get`` or ``set``
per key for a cache without them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Final, Protocol, TypeAlias, runtime_checkable

from llm_normalize._names import field_key
from llm_normalize.exceptions import ConfigurationError

__all__ = [
    "REJECTED_SUFFIX",
    "BatchedCache",
    "CacheKey",
    "PurgeableCache",
    "ValueCache",
    "cache_key",
    "check_prompt_version",
    "get_many",
    "hash_cache_key",
    "matches_prompt_version",
    "rejection_key",
    "set_many",
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


REJECTED_SUFFIX: Final = "#rejected"
"""Ends the version of a cache entry that remembers a refused answer (see `rejection_key`)."""


def rejection_key(field: str, raw: str, cache_version: str) -> CacheKey:
    """The cache key under which the guard's refusal of an answer is remembered.

    Its value is the guard's reason. Its version is the answer's plus `REJECTED_SUFFIX`
    (``"<prompt version>@<model>#rejected"``), so purging the prompt version purges it too.

    Examples:
        >>> rejection_key("empresa", "rappi", "0123456789ab@model")
        ('empresa', 'rappi', '0123456789ab@model#rejected')
    """
    return cache_key(field, raw, f"{cache_version}{REJECTED_SUFFIX}")


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


@runtime_checkable
class BatchedCache(ValueCache, Protocol):
    """A `ValueCache` that looks up and stores many keys at once (one request per batch).

    `LRUCache`, `NullCache`, `TieredCache`, `SQLiteValueCache` and `DynamoDBValueCache`
    are batched caches. Call them through `get_many` and `set_many`, which also serve
    caches that are not.
    """

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """Return the value stored under each of `keys` that has one; misses are left out."""
        ...

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        """Store each value of `items` under its key, replacing any value there."""
        ...


def get_many(cache: ValueCache, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
    """Look `keys` up in `cache`: one batched call if it is a `BatchedCache`, else one ``get`` each.

    Returns:
        The keys found, with their values; a key asked twice is looked up once.

    Examples:
        >>> from llm_normalize.caches import LRUCache
        >>> cache = LRUCache()
        >>> cache.set(("ciudad", "bogota", "v1"), "Bogotá D.C.")
        >>> get_many(cache, [("ciudad", "bogota", "v1"), ("ciudad", "cali", "v1")])
        {('ciudad', 'bogota', 'v1'): 'Bogotá D.C.'}
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    if isinstance(cache, BatchedCache):
        return cache.get_many(unique)
    found: dict[CacheKey, str] = {}
    for key in unique:
        value = cache.get(key)
        if value is not None:
            found[key] = value
    return found


def set_many(cache: ValueCache, items: Mapping[CacheKey, str]) -> None:
    """Store `items` in `cache`: one batched call if it is a `BatchedCache`, else one ``set`` each."""
    if not items:
        return
    if isinstance(cache, BatchedCache):
        cache.set_many(items)
        return
    for key, value in items.items():
        cache.set(key, value)


def hash_cache_key(key: CacheKey) -> str:
    """The SHA-256 of a `CacheKey`'s JSON form, in hex: how persistent caches store keys.

    Raw values are personal data: a file or a table keyed by this hash does not hold them
    in clear.

    Examples:
        >>> len(hash_cache_key(("ciudad", "bogota", "v1")))
        64
    """
    encoded = json.dumps(list(key), ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


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
