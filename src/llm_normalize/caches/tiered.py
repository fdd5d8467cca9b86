"""`TieredCache`: a small in-memory cache in front of a slower, shared one.

A persistent cache (a SQLite file, a DynamoDB table) costs a query or a request per
lookup; the values a process already read or wrote are kept in memory in front of it, so a
warm Lambda container or a long run asks the back cache only once for each.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from llm_normalize.caches.base import (
    CacheKey,
    PurgeableCache,
    ValueCache,
    check_prompt_version,
    get_many,
    set_many,
)
from llm_normalize.caches.memory import LRUCache
from llm_normalize.exceptions import ConfigurationError

__all__ = ["TieredCache"]

_FRONT_SIZE = 10_000


class TieredCache:
    """A `ValueCache` in two tiers: `front` (fast, in memory) in front of `back` (shared).

    - `get` and `get_many` ask the front first, then the back for what the front lacks
      (in one `get_many` call: one batched request for a batched back cache), and keep what
      the back found in the front.
    - `set` and `set_many` write through: to the front, then to the back.
    - `purge` purges the back, then the front (a rollback must not leave the front serving
      the rolled-back answers).
    - `close` closes both tiers, when they have a ``close``.

    Thread-safe when both tiers are (the built-in caches are).

    Args:
        back: The shared cache: `SQLiteValueCache`, `DynamoDBValueCache` or any `ValueCache`.
        front: The in-memory cache in front (default: an `LRUCache` of 10,000 entries).

    Examples:
        >>> from llm_normalize.caches import LRUCache
        >>> shared = LRUCache()
        >>> cache = TieredCache(shared, front=LRUCache(maxsize=100))
        >>> cache.set(("ciudad", "bogota", "v1"), "Bogotá D.C.")
        >>> shared.get(("ciudad", "bogota", "v1"))
        'Bogotá D.C.'
    """

    def __init__(self, back: ValueCache, *, front: ValueCache | None = None) -> None:
        self._back = back
        self._front: ValueCache = front if front is not None else LRUCache(_FRONT_SIZE)
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def __repr__(self) -> str:
        return (
            f"TieredCache(front={self._front!r}, back={self._back!r}, "
            f"hits={self._hits}, misses={self._misses})"
        )

    @property
    def front(self) -> ValueCache:
        """The in-memory cache in front."""
        return self._front

    @property
    def back(self) -> ValueCache:
        """The shared cache behind."""
        return self._back

    @property
    def hits(self) -> int:
        """How many keys looked up were found, in either tier."""
        return self._hits

    @property
    def misses(self) -> int:
        """How many keys looked up were found in neither tier."""
        return self._misses

    def get(self, key: CacheKey) -> str | None:
        """Return the value under `key` from the front, else from the back (kept in front)."""
        value = self._front.get(key)
        if value is None:
            value = self._back.get(key)
            if value is not None:
                self._front.set(key, value)
        self._count(hits=int(value is not None), misses=int(value is None))
        return value

    def set(self, key: CacheKey, value: str) -> None:
        """Store `value` under `key` in both tiers."""
        self._front.set(key, value)
        self._back.set(key, value)

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """Return the values of `keys` found in either tier (misses left out).

        The back cache is asked once, for the keys the front lacks; what it finds is kept
        in front.
        """
        wanted = list(dict.fromkeys(keys))
        found = get_many(self._front, wanted)
        missing = [key for key in wanted if key not in found]
        if missing:
            behind = get_many(self._back, missing)
            set_many(self._front, behind)
            found.update(behind)
        self._count(hits=len(found), misses=len(wanted) - len(found))
        return found

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        """Store every value of `items` in both tiers (one batched call each)."""
        set_many(self._front, items)
        set_many(self._back, items)

    def purge(self, prompt_version: str) -> int:
        """Remove every entry of `prompt_version` from both tiers; return how many the back held.

        Raises:
            ConfigurationError: `prompt_version` is empty, or a tier is not a `PurgeableCache`
                (a rollback must not keep the rolled-back answers in it).
        """
        version = check_prompt_version(prompt_version)
        back, front = self._back, self._front
        if not isinstance(back, PurgeableCache) or not isinstance(front, PurgeableCache):
            tier = front if isinstance(back, PurgeableCache) else back
            raise ConfigurationError(
                f"the tiered cache cannot purge: its {type(tier).__name__} has no purge()"
            )
        removed = back.purge(version)
        front.purge(version)
        return removed

    def close(self) -> None:
        """Close both tiers (those with a ``close``); the front first."""
        for tier in (self._front, self._back):
            close = getattr(tier, "close", None)
            if callable(close):
                close()

    def _count(self, *, hits: int, misses: int) -> None:
        with self._lock:
            self._hits += hits
            self._misses += misses
