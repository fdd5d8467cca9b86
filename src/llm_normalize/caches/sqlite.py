"""`SQLiteValueCache`: a `ValueCache` in a table of a local SQLite file (stdlib `sqlite3`).

Model answers survive across runs of the command line and notebooks with no AWS at all:
in the lead store's own file (`SQLiteLeadStore`'s, beside its leads) or in a file of
their own (the command line's default is ``~/.cache/llm-normalize/cache.db``).

The table (``value_cache`` unless named otherwise)::

    cache_key TEXT PRIMARY KEY   -- SHA-256 of the whole key (`hash_cache_key`)
    field TEXT NOT NULL          -- the field key, to inspect entries
    prompt_version TEXT NOT NULL -- "<prompt version>@<model id>", indexed, to purge
    value TEXT NOT NULL          -- the answer
    written_at INTEGER NOT NULL  -- epoch seconds

How it keeps the contract:

- Values are personal data, kept as the lead store keeps its leads: a new file is created
  readable by its owner only (0600; SQLite gives its ``-wal`` and ``-shm`` files the same
  mode), and a file that already exists keeps the mode its owner gave it. Raw values are
  not stored at all, only hashed into the key. Nothing logs or raises a value.
- The file runs in WAL mode with ``synchronous=NORMAL``, as the store does, so the store
  and the cache (two connections) and other processes share it: readers never wait,
  writers wait for each other up to `timeout_s`.
- One connection per cache, guarded by a lock (``check_same_thread=False``): one cache can
  be shared by threads.
- `get_many` is one ``SELECT ... WHERE cache_key IN (...)`` per 500 keys; `set_many` is one
  transaction.
- A cache must not stop a run: when the file stays locked by another writer past
  `timeout_s`, `get` misses and `set` skips, with a warning; any other `sqlite3` error
  (a file that is not a database, a read-only file) raises `StorageError`.

Examples:
    >>> cache = SQLiteValueCache(":memory:")
    >>> cache.set(("ciudad", "bogota", "v1@m"), "Bogotá D.C.")
    >>> cache.get(("ciudad", "bogota", "v1@m"))
    'Bogotá D.C.'
    >>> cache.close()
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from llm_normalize._sqlite_files import connect_target, encodable, use_wal
from llm_normalize.caches.base import CacheKey, check_prompt_version, hash_cache_key
from llm_normalize.exceptions import ConfigurationError, StorageError

__all__ = ["SQLiteValueCache"]

logger = logging.getLogger(__name__)

_COLUMNS: Final = ("cache_key", "field", "prompt_version", "value", "written_at")
_TABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Well under SQLite's smallest limit of bound parameters per statement (999 before 3.32).
_IN_CHUNK: Final = 500
# The messages of sqlite3's OperationalError when another connection holds the write lock.
_BUSY: Final = ("database is locked", "database is busy", "database table is locked")


class SQLiteValueCache:
    """A `ValueCache` in a table of a local SQLite file; batched and purgeable.

    Args:
        path_or_connection: The database file (created with its parent directories if
            missing, unless `create` is false; ``":memory:"`` for a private in-memory
            database), or an open `sqlite3.Connection` to use as is (it must be usable from
            every thread that uses the cache, and `close` leaves it open).
        table: The cache table's name (letters, digits and ``_``).
        timeout_s: How long to wait for another connection's write lock.
        create: Whether a missing file is created. When false, the file must exist (the
            lead store's file, say); the table is still created in it if missing.

    Raises:
        ConfigurationError: A bad table name.
        StoreNotFoundError: `create` is false and the file does not exist.
        StorageError: The file cannot be opened or created, is not an SQLite database, or
            its cache table has other columns.
    """

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection,
        *,
        table: str = "value_cache",
        timeout_s: float = 5.0,
        create: bool = True,
    ) -> None:
        if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
            raise ConfigurationError(
                f"table {table!r} is not a valid name (letters, digits and _, at most 63)"
            )
        self._table = table
        self._lock = threading.RLock()
        self._hits = self._misses = self._errors = 0
        self._conn: sqlite3.Connection | None = None
        if isinstance(path_or_connection, sqlite3.Connection):
            self._path = "<connection>"
            self._owns_connection = False
            self._conn = path_or_connection
            self._create_schema(path_or_connection)
        else:
            self._path = os.fspath(path_or_connection)
            self._owns_connection = True
            self._conn = self._open(timeout_s, create=create)

    def __repr__(self) -> str:
        return (
            f"SQLiteValueCache({self._path!r}, table={self._table!r}, hits={self._hits}, "
            f"misses={self._misses}, errors={self._errors})"
        )

    def __enter__(self) -> SQLiteValueCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        rows = self._read("count", f"SELECT COUNT(*) FROM {self._quoted}", ())
        return int(rows[0][0])

    @property
    def path(self) -> str:
        """The database file, as given (``"<connection>"`` for a given connection)."""
        return self._path

    @property
    def table(self) -> str:
        """The cache table's name."""
        return self._table

    @property
    def hits(self) -> int:
        """How many keys looked up were found."""
        return self._hits

    @property
    def misses(self) -> int:
        """How many keys looked up were not found (a locked file's lookups included)."""
        return self._misses

    @property
    def errors(self) -> int:
        """How many lookups and writes were skipped because the file stayed locked."""
        return self._errors

    # -- the contract ----------------------------------------------------------------------

    def get(self, key: CacheKey) -> str | None:
        """Return the value stored under `key`, or None.

        Raises:
            StorageError: The database failed (other than staying locked) or it is closed.
        """
        return self.get_many([key]).get(key)

    def set(self, key: CacheKey, value: str) -> None:
        """Store `value` under `key`, replacing any value there.

        Raises:
            StorageError: The database failed (other than staying locked) or it is closed.
        """
        self.set_many({key: value})

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """Return the values stored under `keys` (misses left out): one query per 500 keys.

        A value that is not valid UTF-8 (written by another tool) is a miss.

        Raises:
            StorageError: The database failed (other than staying locked) or it is closed.
        """
        wanted = {hash_cache_key(key): key for key in keys}
        hashes = list(wanted)
        found: dict[CacheKey, str] = {}
        for start in range(0, len(hashes), _IN_CHUNK):
            chunk = hashes[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = (
                f"SELECT cache_key, CAST(value AS BLOB) FROM {self._quoted} "
                f"WHERE cache_key IN ({marks})"
            )
            rows = self._tolerant_read(sql, tuple(chunk))
            for hashed, raw in rows:
                value = _text(raw)
                if value is not None and hashed in wanted:
                    found[wanted[hashed]] = value
        with self._lock:
            self._hits += len(found)
            self._misses += len(wanted) - len(found)
        return found

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        """Store every value of `items` under its key, in one transaction.

        A value that cannot be stored as UTF-8 (a lone surrogate) is skipped.

        Raises:
            StorageError: The database failed (other than staying locked) or it is closed.
        """
        now = int(time.time())
        rows = [
            (hash_cache_key(key), key[0], key[2], value, now)
            for key, value in items.items()
            if encodable(value)
        ]
        if not rows:
            return
        sql = (
            f"INSERT OR REPLACE INTO {self._quoted} ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
        )
        try:
            with self._transaction("set", busy_ok=True) as conn:
                conn.executemany(sql, rows)
        except _Busy:
            self._tolerate("set", len(rows))

    def purge(self, prompt_version: str) -> int:
        """Remove every entry of `prompt_version` (any model); return how many.

        See `llm_normalize.caches.PurgeableCache.purge`: entries whose version is
        `prompt_version` or begins with ``"<prompt_version>@"``.

        Raises:
            ConfigurationError: `prompt_version` is empty or not a string.
            StorageError: The database failed (a locked file included: a rollback must
                not pass with the answers kept) or it is closed.
        """
        version = check_prompt_version(prompt_version)
        # A range on the indexed column is exactly the prefix "<version>@": "@" + 1 is "A".
        sql = (
            f"DELETE FROM {self._quoted} WHERE prompt_version = ? "
            "OR (prompt_version >= ? AND prompt_version < ?)"
        )
        with self._transaction("purge") as conn:
            removed = conn.execute(sql, (version, f"{version}@", f"{version}A")).rowcount
        logger.info("value cache purge of prompt version %s: %d entries deleted", version, removed)
        return int(removed)

    def clear(self) -> None:
        """Remove every entry, and reset the counters."""
        with self._transaction("clear") as conn:
            conn.execute(f"DELETE FROM {self._quoted}")
        with self._lock:
            self._hits = self._misses = self._errors = 0

    def close(self) -> None:
        """Close the connection the cache opened; closing twice is harmless."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._owns_connection:
                with self._errors_as("close"):
                    conn.close()

    # -- the file --------------------------------------------------------------------------

    def _open(self, timeout_s: float, *, create: bool) -> sqlite3.Connection:
        target, uri = connect_target(
            self._path, create=create, what="SQLite value cache", missing="start a cache file"
        )
        with self._errors_as("open"):
            conn = sqlite3.connect(
                target, timeout=timeout_s, isolation_level=None, check_same_thread=False, uri=uri
            )
        try:
            with self._errors_as("open"):
                use_wal(conn)
            self._create_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        with self._lock, self._errors_as("create the table"):
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._quoted} ("
                "cache_key TEXT PRIMARY KEY, field TEXT NOT NULL, "
                "prompt_version TEXT NOT NULL, value TEXT NOT NULL, "
                "written_at INTEGER NOT NULL) WITHOUT ROWID"
            )
            columns = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({self._quoted})"))
            if columns != _COLUMNS:
                raise StorageError(
                    f"SQLite value cache {self._path!r}: table {self._table!r} exists with "
                    f"columns {', '.join(columns)}, not {', '.join(_COLUMNS)}"
                )
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{self._table}_prompt_version" '
                f"ON {self._quoted} (prompt_version)"
            )

    # -- queries ---------------------------------------------------------------------------

    @property
    def _quoted(self) -> str:
        return f'"{self._table}"'

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"SQLite value cache {self._path!r} is closed")
        return self._conn

    @contextlib.contextmanager
    def _errors_as(self, action: str, *, busy_ok: bool = False) -> Iterator[None]:
        """Turn `sqlite3` errors into `StorageError`; with `busy_ok`, a stuck lock into `_Busy`."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if busy_ok and str(exc).startswith(_BUSY):
                raise _Busy(action) from exc
            raise StorageError(
                f"SQLite value cache {self._path!r}: {action} failed: {exc}"
            ) from exc
        except sqlite3.Error as exc:
            # sqlite3's messages name tables, columns and files; values are only bound, and
            # values are read as bytes, so its one message quoting a value never occurs.
            raise StorageError(
                f"SQLite value cache {self._path!r}: {action} failed: {exc}"
            ) from exc

    @contextlib.contextmanager
    def _transaction(self, action: str, *, busy_ok: bool = False) -> Iterator[sqlite3.Connection]:
        """Hold the lock and a write transaction (`BEGIN IMMEDIATE`): all or nothing.

        On a given connection already in a transaction, the statements join it.
        """
        with self._lock, self._errors_as(action, busy_ok=busy_ok):
            conn = self._connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT (busy): never leave the transaction open.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(
        self, action: str, sql: str, parameters: tuple[Any, ...], *, busy_ok: bool = False
    ) -> list[Any]:
        with self._lock, self._errors_as(action, busy_ok=busy_ok):
            return self._connection().execute(sql, parameters).fetchall()

    def _tolerant_read(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        try:
            return self._read("get", sql, parameters, busy_ok=True)
        except _Busy:
            self._tolerate("get", len(parameters))
            return []

    def _tolerate(self, action: str, count: int) -> None:
        with self._lock:
            self._errors += 1
        logger.warning(
            "value cache %s of %d entries in %s skipped: the file stayed locked by another "
            "writer; treated as a miss",
            action,
            count,
            self._path,
        )


class _Busy(Exception):
    """The file stayed locked by another connection past the timeout."""


def _text(raw: object) -> str | None:
    """A value read as bytes, decoded; None when it is not UTF-8 text (never raised: it quotes)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
