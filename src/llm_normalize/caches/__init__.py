"""Value caches: a model's guarded answer for one raw value, remembered across calls.

- `ValueCache`, `CacheKey` and `cache_key` (in `llm_normalize.caches.base`): the contract.
  Anything with ``get`` and ``set`` is a `ValueCache` (a DynamoDB table, Redis).
- `PurgeableCache`: a value cache that can also ``purge(prompt_version)``, so a rollback
  forgets the rolled-back version's answers; `matches_prompt_version` says which entries
  belong to a version. Every cache below is purgeable.
- `LRUCache` (the default) and `NullCache` (in `llm_normalize.caches.memory`).
- `DynamoDBValueCache`, a persistent cache shared by runs and processes, lives in
  `llm_normalize.caches.dynamodb` and is not re-exported here, so importing this package
  never imports boto3.
"""

from __future__ import annotations

from llm_normalize.caches.base import (
    CacheKey,
    PurgeableCache,
    ValueCache,
    cache_key,
    matches_prompt_version,
)
from llm_normalize.caches.memory import LRUCache, NullCache

__all__ = [
    "CacheKey",
    "LRUCache",
    "NullCache",
    "PurgeableCache",
    "ValueCache",
    "cache_key",
    "matches_prompt_version",
]
