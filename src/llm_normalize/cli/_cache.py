"""The value cache of a command: ``--cache URL|none``, its defaults, and how it is described.

| ``--cache`` | cache |
|---|---|
| (not given), ``run`` or ``rollback`` on a ``sqlite://`` store | a table in the store's own file |
| (not given), otherwise | ``$XDG_CACHE_HOME/llm-normalize/cache.db`` (``~/.cache/...``) |
| ``sqlite:///path.db`` | a table in that file |
| ``dynamodb://TABLE?region=R&endpoint_url=U&ttl_days=N`` | `DynamoDBValueCache` |
| ``none`` | in memory, for this run only |

A persistent cache gets a `TieredCache` with an in-memory LRU in front. ``rollback``
purges the cache a run with the same options used (``--cache-table NAME`` is
``--cache dynamodb://NAME``); it never creates a cache file to purge nothing.

Mistakes in ``--cache`` are `ConfigurationError`s (exit 2, as usage errors are): this module
sits below `llm_normalize.cli._common`, which imports it.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, unquote, urlsplit

from llm_normalize.caches import LRUCache, PurgeableCache, TieredCache, ValueCache
from llm_normalize.exceptions import ConfigurationError

if TYPE_CHECKING:
    from llm_normalize.caches.dynamodb import DynamoDBValueCache

__all__ = [
    "FAKE_MODEL_ID",
    "close_cache",
    "default_cache_path",
    "describe_cache",
    "open_cache",
    "rollback_cache",
]

FAKE_MODEL_ID: Final = "fake"
"""The model id the command line's fake backend answers as, so its echoes are never cached
under a real model's id (the cache key holds the model id)."""

_NONE: Final = "none"
_DYNAMODB_OPTIONS: Final = ("endpoint_url", "region", "ttl_days")
_CACHE_URLS: Final = "sqlite:///PATH.db, dynamodb://TABLE or none"


def default_cache_path() -> Path:
    """The user's cache file: ``$XDG_CACHE_HOME/llm-normalize/cache.db``, else under ``~/.cache``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG specification says; on Windows,
    ``%LOCALAPPDATA%`` stands for ``~/.cache``.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):
        root = Path(base)
    elif os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        root = Path(os.environ["LOCALAPPDATA"])
    else:
        root = Path.home() / ".cache"
    return root / "llm-normalize" / "cache.db"


def open_cache(args: argparse.Namespace) -> ValueCache:
    """The cache of ``normalize`` and ``run``: ``--cache``, else the default (module docstring).

    Raises:
        ConfigurationError: ``--cache`` is not a cache URL, or has an unknown option.
        StorageError: The cache file cannot be created or opened.
    """
    spec: str | None = args.cache
    store_url: str | None = getattr(args, "store", None)
    if spec is not None and spec.strip().lower() == _NONE:
        return LRUCache()
    if spec is not None:
        return _from_url(spec, store_url, option="--cache", purging=False)
    store_file = _sqlite_store_file(store_url)
    if store_file is not None:
        # The store opened (or created) its file first: a mistyped store is its error.
        return _sqlite(store_file, create=False)
    return _sqlite(str(_private_cache_file()), create=True)


def rollback_cache(args: argparse.Namespace) -> PurgeableCache | None:
    """The cache ``rollback`` purges, or None for nothing to purge.

    ``--cache-table NAME[?...]`` is ``--cache dynamodb://NAME[?...]``. Without either, the
    cache a run would use by default, if it exists.

    Raises:
        ConfigurationError: Both options are given, or one is not a cache URL.
        StoreNotFoundError: An explicit ``sqlite://`` cache file does not exist.
    """
    if args.cache is not None and args.cache_table is not None:
        raise ConfigurationError("give --cache or --cache-table (the same thing), not both")
    if args.cache_table is not None:
        table, _, query = args.cache_table.partition("?")
        return _dynamodb(unquote(table), query, args.store, option="--cache-table")
    if args.cache is not None:
        if args.cache.strip().lower() == _NONE:
            return None
        return _from_url(args.cache, args.store, option="--cache", purging=True)
    store_file = _sqlite_store_file(args.store)
    if store_file is not None:
        return _sqlite(store_file, create=False)
    user_file = default_cache_path()
    return _sqlite(str(user_file), create=False) if user_file.is_file() else None


def describe_cache(cache: ValueCache) -> str:
    """Where `cache` keeps its answers, for messages: a file or a table, never a value."""
    from llm_normalize.caches.dynamodb import DynamoDBValueCache
    from llm_normalize.caches.sqlite import SQLiteValueCache

    back = cache.back if isinstance(cache, TieredCache) else cache
    if isinstance(back, SQLiteValueCache):
        return f"SQLite file {back.path!r}"
    if isinstance(back, DynamoDBValueCache):
        return f"DynamoDB table {back.table_name!r}"
    return "in memory, this run only (--cache none)"


def close_cache(cache: ValueCache) -> None:
    """Close `cache` if it has a ``close`` (a file's connection, a built client)."""
    close = getattr(cache, "close", None)
    if callable(close):
        close()


def _from_url(spec: str, store_url: str | None, *, option: str, purging: bool) -> TieredCache:
    parts = urlsplit(spec.strip())
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if parts.netloc or not path or parts.query:
            raise ConfigurationError(
                f"a SQLite {option} is sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        # A rollback never creates a file to purge nothing: a mistyped path is an error.
        return _sqlite(path, create=not purging)
    if scheme == "dynamodb":
        return _dynamodb(unquote(parts.netloc), parts.query, store_url, option=option)
    raise ConfigurationError(f"unknown {option} {spec.split('?', 1)[0]!r}; use {_CACHE_URLS}")


def _sqlite(path: str, *, create: bool) -> TieredCache:
    from llm_normalize.caches.sqlite import SQLiteValueCache

    return TieredCache(SQLiteValueCache(path, create=create))


def _dynamodb(table: str, query: str, store_url: str | None, *, option: str) -> TieredCache:
    """A `DynamoDBValueCache` (behind an LRU); region and endpoint default to a dynamodb:// store's."""
    if not table:
        raise ConfigurationError(f"a DynamoDB {option} names its table: dynamodb://TABLE")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = set(options) - set(_DYNAMODB_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"unknown {option} option(s) {sorted(unknown)}; known: {', '.join(_DYNAMODB_OPTIONS)}"
        )
    store = urlsplit(store_url or "")
    if store.scheme.lower() == "dynamodb":
        inherited = {key: values[-1] for key, values in parse_qs(store.query).items()}
        for key in ("region", "endpoint_url"):
            if key in inherited:
                options.setdefault(key, inherited[key])
    return TieredCache(_dynamodb_cache(table, options, option))


def _dynamodb_cache(table: str, options: dict[str, str], option: str) -> DynamoDBValueCache:
    from llm_normalize.caches.dynamodb import DynamoDBValueCache

    try:
        ttl_days = float(options.get("ttl_days", "30"))
    except ValueError:
        ttl_days = math.nan
    if not 0 < ttl_days < math.inf:
        raise ConfigurationError(f"{option} ttl_days must be a positive number of days")
    return DynamoDBValueCache(
        table,
        ttl_days=ttl_days,
        region_name=options.get("region"),
        endpoint_url=options.get("endpoint_url"),
    )


def _sqlite_store_file(store_url: str | None) -> str | None:
    """The database file of a ``sqlite://`` store URL (not ``:memory:``), else None."""
    if not store_url:
        return None
    parts = urlsplit(store_url)
    if parts.scheme.lower() != "sqlite" or parts.netloc:
        return None
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return path if path and path != ":memory:" else None


def _private_cache_file() -> Path:
    """The user's cache file path, its directory made (owner-only, 0700) if missing."""
    path = default_cache_path()
    directory = path.parent
    if not directory.is_dir():
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.chmod(0o700)  # whatever the umask
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the cache directory {str(directory)!r}: {exc.strerror}; "
                "pass --cache sqlite:///PATH.db or --cache none"
            ) from exc
    return path
