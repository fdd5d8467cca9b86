"""Lead stores: where the scheduled job reads leads and writes results back.

`open_store(url)` opens one by URL:

| URL | store |
|---|---|
| `sqlite:///leads.db`, `sqlite:////abs/path.db` | `SQLiteLeadStore`, the embedded default |
| `dynamodb://TABLE?config_table=CONFIG&region=us-east-1&endpoint_url=...&segments=4` | `DynamoDBLeadStore` |
| `memory://` | `MemoryLeadStore`, for tests and notebooks |

A URL that points at nothing is an error (`StoreNotFoundError`), so that a typo never runs
a job, an export or a quality gate on an empty store: a SQLite file must exist (pass
`create=True` to start one, as the `import` command does), and a DynamoDB table must exist
(`open_store` never creates tables). `memory://` is always a new, empty store.

Each store module is imported only when its store is opened: SQLite needs the standard
library only, DynamoDB imports boto3.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from llm_normalize.exceptions import ConfigurationError, StoreNotFoundError
from llm_normalize.stores.base import (
    LEAD_ID,
    NORMALIZATION_ATTRIBUTES,
    NORMALIZATION_PREVIOUS,
    LeadStore,
    LeadUpdate,
    SaveStatus,
    StoredLead,
    needs_normalization,
    ttl_cutoff_ms,
)

if TYPE_CHECKING:
    from llm_normalize.stores.dynamodb import DynamoDBLeadStore
    from llm_normalize.stores.memory import MemoryLeadStore
    from llm_normalize.stores.sqlite import SQLiteLeadStore

__all__ = [
    "LEAD_ID",
    "NORMALIZATION_ATTRIBUTES",
    "NORMALIZATION_PREVIOUS",
    "DynamoDBLeadStore",
    "LeadStore",
    "LeadUpdate",
    "MemoryLeadStore",
    "SQLiteLeadStore",
    "SaveStatus",
    "StoredLead",
    "needs_normalization",
    "open_store",
    "ttl_cutoff_ms",
]

_DYNAMODB_OPTIONS = frozenset({"config_table", "region", "endpoint_url", "segments"})


def open_store(url: str, *, create: bool = False) -> LeadStore:
    """Open a lead store by URL (see the module docstring for the forms).

    Args:
        url: ``sqlite:///path.db``, ``dynamodb://TABLE?...`` or ``memory://``.
        create: Create a missing SQLite file (with its directories) as an empty store.
            Without it, a missing file is an error. DynamoDB tables are never created:
            a missing one is an error either way (checked with one DescribeTable; skipped
            when the credentials may not call it).

    Raises:
        StoreNotFoundError: The SQLite file does not exist (or holds no leads table) and
            `create` is false, or the DynamoDB table does not exist in the region.
        ConfigurationError: The URL's scheme is unknown or it is malformed.
        StorageError: The store exists but cannot be opened.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _open_sqlite(url, parts.netloc, parts.path, create)
    if scheme == "dynamodb":
        return _open_dynamodb(unquote(parts.netloc), parts.query)
    if scheme == "memory":
        from llm_normalize.stores.memory import MemoryLeadStore

        return MemoryLeadStore()
    raise ConfigurationError(
        f"unknown store URL scheme {parts.scheme!r}; use sqlite:///path.db, dynamodb://TABLE or memory://"
    )


def _open_sqlite(url: str, netloc: str, url_path: str, create: bool) -> LeadStore:
    # sqlite:///relative.db -> "relative.db"; sqlite:////abs.db -> "/abs.db"
    path = unquote(url_path[1:] if url_path.startswith("/") else url_path)
    if netloc or not path:
        raise ConfigurationError(
            "a SQLite store URL is sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    from llm_normalize.stores.sqlite import SQLiteLeadStore, describe_file

    if not create and path != ":memory:" and not os.path.exists(path):
        # Checked here too, to give the command's advice; the store checks it again.
        raise StoreNotFoundError(
            f"{describe_file(path)} does not exist; check the path, run "
            f"`llm-normalize import FILE --store {url}` first, or pass --create"
        )
    return SQLiteLeadStore(path, create=create)


def _open_dynamodb(table: str, query: str) -> LeadStore:
    if not table:
        raise ConfigurationError("a DynamoDB store URL is dynamodb://TABLE[?config_table=...]")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = set(options) - _DYNAMODB_OPTIONS
    if unknown:
        raise ConfigurationError(
            f"unknown DynamoDB store option(s) {sorted(unknown)}; known: {sorted(_DYNAMODB_OPTIONS)}"
        )
    try:
        segments = int(options.get("segments", "1"))
    except ValueError:
        raise ConfigurationError("segments must be a whole number") from None
    from llm_normalize.stores.dynamodb import DynamoDBLeadStore

    store = DynamoDBLeadStore(
        table,
        config_table=options.get("config_table"),
        region_name=options.get("region"),
        endpoint_url=options.get("endpoint_url"),
        segments=segments,
    )
    try:
        store.check_table()
    except BaseException:
        store.close()
        raise
    return store


def __getattr__(name: str) -> object:
    # The store classes load on first use, so importing this package does not import boto3.
    if name == "SQLiteLeadStore":
        from llm_normalize.stores.sqlite import SQLiteLeadStore

        return SQLiteLeadStore
    if name == "DynamoDBLeadStore":
        from llm_normalize.stores.dynamodb import DynamoDBLeadStore

        return DynamoDBLeadStore
    if name == "MemoryLeadStore":
        from llm_normalize.stores.memory import MemoryLeadStore

        return MemoryLeadStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
