"""Value caches: a model's guarded answer for one raw value, remembered across calls.

- `ValueCache`, `CacheKey` and `cache_key` (in `llm_normalize.caches.base`): the contract.
  Anything with ``get`` and ``set`` is a `ValueCache` (a DynamoDB table, Redis).
- `PurgeableCache`: a value cache that can also ``purge(prompt_version)``, so a rollback
  forgets the rolled-back version's answers; `matches_prompt_version` says which entries
  belong to a version. Every cache below is purgeable.
- `BatchedCache`, `get_many` and `set_many`: many keys per call (one request per batch
  for a remote cache); the functions serve any `ValueCache`.
- `LRUCache` (the default) and `NullCache` (in `llm_normalize.caches.memory`).
- `TieredCache` (in `llm_normalize.caches.tiered`): an in-memory cache in front of a
  persistent one.
- The persistent caches are not re-exported here, so importing this package never imports
  `sqlite3` or boto3: `SQLiteValueCache` (`llm_normalize.caches.sqlite`), a table in a
  local SQLite file (the lead store's, or a file of its own), and `DynamoDBValueCache`
  (`llm_normalize.caches.dynamodb`), shared by runs, processes and Lambda containers.
"""

from __future__ import annotations

from llm_normalize.caches.base import (
    BatchedCache,
    CacheKey,
    PurgeableCache,
    ValueCache,
    cache_key,
    get_many,
    hash_cache_key,
    matches_prompt_version,
    rejection_key,
    set_many,
)
from llm_normalize.caches.memory import LRUCache, NullCache
from llm_normalize.caches.tiered import TieredCache

__all__ = [
    "BatchedCache",
    "CacheKey",
    "LRUCache",
    "NullCache",
    "PurgeableCache",
    "TieredCache",
    "ValueCache",
    "cache_key",
    "get_many",
    "hash_cache_key",
    "matches_prompt_version",
    "rejection_key",
    "set_many",
]
