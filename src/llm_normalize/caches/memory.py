"""In-memory value caches: `LRUCache`, the default, and `NullCache`, which stores nothing.

- `LRUCache`: thread-safe and bounded; the least recently used entry goes first when it is
  full.
- `NullCache`: stores nothing, for seed-style runs and benchmarks that must call the model
  every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from llm_normalize.caches.base import CacheKey, check_prompt_version, matches_prompt_version
from llm_normalize.exceptions import ConfigurationError

__all__ = ["LRUCache", "NullCache"]


class LRUCache:
    """A bounded, thread-safe, in-memory `ValueCache` that evicts the least recently used entry.

    Args:
        maxsize: The most entries kept. Each holds a raw value and an answer of a few dozen
            characters, so the default of 100,000 costs some tens of megabytes at most.

    Raises:
        ConfigurationError: `maxsize` is below 1 (use `NullCache` to cache nothing).

    Examples:
        >>> cache = LRUCache(maxsize=2)
        >>> cache.set(("ciudad", "bogota", "v1"), "Bogotá D.C.")
        >>> cache.get(("ciudad", "bogota", "v1"))
        'Bogotá D.C.'
        >>> cache.get(("ciudad", "cali", "v1")) is None
        True
        >>> (cache.hits, cache.misses, len(cache))
        (1, 1, 1)
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ConfigurationError("LRUCache maxsize must be a positive integer")
        self._maxsize = maxsize
        self._entries: OrderedDict[CacheKey, str] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def __repr__(self) -> str:
        return (
            f"LRUCache(maxsize={self._maxsize}, size={len(self)}, "
            f"hits={self._hits}, misses={self._misses})"
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Say whether `key` is stored, without counting a hit or refreshing it."""
        with self._lock:
            return key in self._entries

    @property
    def maxsize(self) -> int:
        """The most entries kept."""
        return self._maxsize

    @property
    def hits(self) -> int:
        """How many `get` calls found a value since creation or the last `clear`."""
        return self._hits

    @property
    def misses(self) -> int:
        """How many `get` calls found nothing since creation or the last `clear`."""
        return self._misses

    def get(self, key: CacheKey) -> str | None:
        """Return the value stored under `key` and mark it most recently used; else None."""
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return value

    def set(self, key: CacheKey, value: str) -> None:
        """Store `value` under `key` as the most recently used entry, evicting the least."""
        self.set_many({key: value})

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """Return the values stored under `keys` (misses left out), under one lock.

        Each key found counts as a hit and becomes the most recently used; each other key
        counts as a miss. A key given twice is looked up once.
        """
        found: dict[CacheKey, str] = {}
        with self._lock:
            for key in dict.fromkeys(keys):
                value = self._entries.get(key)
                if value is None:
                    self._misses += 1
                    continue
                self._entries.move_to_end(key)
                self._hits += 1
                found[key] = value
        return found

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        """Store every value of `items` under its key, under one lock; evict the least used."""
        with self._lock:
            for key, value in items.items():
                self._entries[key] = value
                self._entries.move_to_end(key)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Remove every entry and reset the hit and miss counters."""
        with self._lock:
            self._entries.clear()
            self._hits = 0
            self._misses = 0

    def purge(self, prompt_version: str) -> int:
        """Remove every entry of `prompt_version` (any model); return how many.

        See `llm_normalize.caches.PurgeableCache.purge`. The counters are kept.

        Raises:
            ConfigurationError: `prompt_version` is empty or not a string.

        Examples:
            >>> cache = LRUCache()
            >>> cache.set(("ciudad", "bogota", "v1@model"), "Bogotá D.C.")
            >>> cache.set(("ciudad", "bogota", "v2@model"), "Bogotá")
            >>> cache.purge("v1")
            1
        """
        version = check_prompt_version(prompt_version)
        with self._lock:
            doomed = [key for key in self._entries if matches_prompt_version(key[2], version)]
            for key in doomed:
                del self._entries[key]
        return len(doomed)


class NullCache:
    """A `ValueCache` that stores nothing: every `get` misses.

    For seed-style runs and benchmarks, where every value must go to the model.
    It counts misses like `LRUCache`, so reports read the same.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._misses = 0

    def __repr__(self) -> str:
        return f"NullCache(misses={self._misses})"

    def __len__(self) -> int:
        return 0

    @property
    def hits(self) -> int:
        """Always 0."""
        return 0

    @property
    def misses(self) -> int:
        """How many `get` calls were made since creation or the last `clear`."""
        return self._misses

    def get(self, key: CacheKey) -> str | None:
        """Return None, and count a miss."""
        with self._lock:
            self._misses += 1
        return None

    def set(self, key: CacheKey, value: str) -> None:
        """Do nothing."""

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """Return nothing, and count a miss per distinct key."""
        missed = len(dict.fromkeys(keys))
        with self._lock:
            self._misses += missed
        return {}

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        """Do nothing."""

    def clear(self) -> None:
        """Reset the miss counter."""
        with self._lock:
            self._misses = 0

    def purge(self, prompt_version: str) -> int:
        """Remove nothing (nothing is stored); return 0.

        Raises:
            ConfigurationError: `prompt_version` is empty or not a string.
        """
        check_prompt_version(prompt_version)
        return 0
