"""Deprecated: the value caches moved to `llm_normalize.caches`.

`from llm_normalize.cache import LRUCache` still works and gives the same object as
`from llm_normalize.caches import LRUCache`, with a `DeprecationWarning`; this module
will be removed in a future release.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_normalize.caches import CacheKey, LRUCache, NullCache, ValueCache, cache_key

__all__ = ["CacheKey", "LRUCache", "NullCache", "ValueCache", "cache_key"]


def __getattr__(name: str) -> Any:
    # PEP 562: resolved on use, so the warning points at the importing line.
    if name in __all__:
        warnings.warn(
            f"llm_normalize.cache is deprecated; import {name} from llm_normalize.caches",
            DeprecationWarning,
            stacklevel=2,
        )
        import llm_normalize.caches

        return getattr(llm_normalize.caches, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
