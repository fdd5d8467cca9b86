"""`SQLiteLeadStore`: the embedded default, leads in one local SQLite file (stdlib `sqlite3`).

The CLI and notebooks use it with no AWS at all. The file holds two tables:

- the leads table (`leads` unless named otherwise):
  `lead_id TEXT PRIMARY KEY, item TEXT NOT NULL, normalized_at INTEGER, updated_at TEXT`.
  `item` is the whole lead as JSON (UTF-8, `ensure_ascii=False`), in the seed's shape.
  `normalized_at` (the item's `normalizedAt` if it is a number, else NULL; indexed) and
  `updated_at` (the item's `updatedAt` as canonical JSON, NULL if absent) are copies kept in
  sync by this class, for the TTL selection and the conditional update. A tool that edits
  `item` directly must update them too.
- `config(config_id TEXT PRIMARY KEY, item TEXT NOT NULL)`: the seed's
  `normalization-settings` item, as JSON, if one was stored.

How it keeps the contract:

- The file holds personal data: a new database file is created readable by its owner
  only (0600; SQLite gives its `-wal`, `-shm` and `-journal` files the same mode). A file
  that already exists keeps the mode its owner gave it.
- The file runs in WAL mode, so readers (another notebook, `export`) never block the job.
- `iter_due` and `scan` read in pages ordered by `leadId` (`WHERE lead_id > last LIMIT n`),
  never the whole table, and never hold a transaction between pages: saving the lead just
  read, from the same thread or another, is safe.
- A row that cannot be decoded (an `item` that is not UTF-8, not JSON or not an object,
  or a `lead_id` that is not UTF-8, as another tool may write) never blocks the others:
  `iter_due`, `scan` and `rollback` skip it with a warning naming its lead id and the
  problem, never its bytes, and `unreadable` lists the ids skipped; `get` of it raises a
  `StorageError` saying the same.
- `save` reads and writes inside `BEGIN IMMEDIATE`: it compares the stored `updatedAt` and
  every watched attribute with what was read (`LeadUpdate.unchanged_since_read`), then
  writes; its `UPDATE` is still guarded (`WHERE lead_id = ? AND updated_at IS ?`). An edit
  committed from another connection in between is a `"conflict"`, a deleted lead is
  `"missing"` and is never re-created.
- `rollback` restores, in one transaction, what `rollback_changes` says: the state before
  the prompt version's first save.
- One connection per store, guarded by a lock (`check_same_thread=False`): one store can be
  shared by threads. Several stores (or processes) on one file wait for each other's
  writes up to `timeout_s`.
- Values go in and come out as JSON: `str`, `int`, `float`, `bool`, `None`, lists and
  string-keyed dicts round-trip exactly. `Decimal` (from DynamoDB) is written as `int` or
  `float`, sets as sorted lists. NaN and infinity are refused, as DynamoDB refuses them.
- Every `sqlite3` error becomes a `StorageError` naming the file and the operation,
  never a value (`sqlite3` quotes the text it cannot decode; that message is replaced).

Examples:
    >>> store = SQLiteLeadStore(":memory:")
    >>> store.put([{"leadId": "a1", "ciudad": "bogota"}])
    1
    >>> store.get("a1")
    {'leadId': 'a1', 'ciudad': 'bogota'}
    >>> store.close()
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from llm_normalize._sqlite_files import connect_target, describe_file, use_wal
from llm_normalize.config import CONFIG_ID
from llm_normalize.exceptions import ConfigurationError, StorageError, StoreNotFoundError
from llm_normalize.stores._sqlite_rows import (
    Unreadable,
    clamp,
    columns,
    config_text,
    decode_item,
    lead_id_of,
    updated_at_key,
)
from llm_normalize.stores.base import (
    BATCH_JOB_ID,
    LeadUpdate,
    SaveStatus,
    StoredLead,
    batch_job_recorded,
    rollback_changes,
    ttl_cutoff_ms,
)

__all__ = ["SQLiteLeadStore", "describe_file"]

logger = logging.getLogger(__name__)

_CONFIG_TABLE: Final = "config"
_LEAD_COLUMNS: Final = ("lead_id", "item", "normalized_at", "updated_at")
_TABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# sqlite3 raises this when a TEXT value is not UTF-8, and quotes the whole value after it.
_DECODE_ERROR: Final = "Could not decode"


class SQLiteLeadStore:
    """A `LeadStore` in a local SQLite file: WAL mode, paged reads, atomic conditional saves.

    Args:
        path: The database file; created with its parent directories if missing (unless
            `create` is false). ``":memory:"`` gives a private in-memory database.
        table: The leads table's name (letters, digits and ``_``; not ``config``).
        config: If given, stored as the seed's `normalization-settings` item (replacing
            any stored one); if not, a config already in the file is kept.
        page_size: How many leads `iter_due`, `scan` and `rollback` read per query.
        timeout_s: How long to wait for another connection's write lock.
        create: Whether a missing file (or a file without the leads table) is made into an
            empty store. When false, the file must be a store already: a mistyped path is
            an error instead of a new, empty database.

    Raises:
        ConfigurationError: A bad table name or page size, or a config that is not a mapping.
        StoreNotFoundError: `create` is false and the file does not exist or has no leads
            table (nothing is created or changed then).
        StorageError: The file cannot be opened or created, is not an SQLite database, or
            its leads table has other columns.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "leads",
        config: Mapping[str, Any] | None = None,
        page_size: int = 500,
        timeout_s: float = 5.0,
        create: bool = True,
    ) -> None:
        if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
            raise ConfigurationError(
                f"table {table!r} is not a valid name (letters, digits and _, at most 63)"
            )
        if table.lower() == _CONFIG_TABLE or table.lower().startswith("sqlite_"):
            raise ConfigurationError(f"table {table!r} is reserved; choose another name")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError(f"page_size must be a positive integer, got {page_size!r}")
        # Checked before the file is touched, so a bad config leaves no open connection.
        initial_config = None if config is None else config_text(config)
        self._path = os.fspath(path)
        self._table = table
        self._page_size = page_size
        self._lock = threading.RLock()
        self._unreadable: dict[str, None] = {}  # an ordered set of lead ids
        self._conn: sqlite3.Connection | None = None
        self._conn = self._open(timeout_s, create=create)
        if initial_config is not None:
            self._write_config(initial_config)

    def __repr__(self) -> str:
        state = " closed" if self._conn is None else ""
        return f"{type(self).__name__}({self._path!r}, table={self._table!r}{state})"

    def __enter__(self) -> SQLiteLeadStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def path(self) -> str:
        """The database file, as given."""
        return self._path

    @property
    def table(self) -> str:
        """The leads table's name."""
        return self._table

    # -- connection ------------------------------------------------------------------------

    @property
    def unreadable(self) -> tuple[str, ...]:
        """The lead ids of the rows skipped because they cannot be decoded, since opening.

        A lead id that is not UTF-8 itself is given with backslash escapes for its bad bytes.
        """
        with self._lock:
            return tuple(self._unreadable)

    def _open(self, timeout_s: float, *, create: bool) -> sqlite3.Connection:
        target, uri = connect_target(
            self._path, create=create, what="SQLite store", missing="start an empty store"
        )
        with self._errors("open"):
            # isolation_level=None: no implicit transactions; we BEGIN and COMMIT ourselves.
            conn = sqlite3.connect(
                target,
                timeout=timeout_s,
                isolation_level=None,
                check_same_thread=False,
                uri=uri,
            )
        try:
            with self._errors("open"):
                if uri:
                    self._check_leads_table(conn)
                use_wal(conn)
                self._create_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_leads_table(self, conn: sqlite3.Connection) -> None:
        """Refuse a file without the leads table, before anything is written to it."""
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
            (self._table,),
        ).fetchone()
        if found is None:
            raise StoreNotFoundError(
                f"{describe_file(self._path)} has no leads table {self._table!r}, so it is not a "
                "lead store; check the path, or pass create=True to add the table"
            )

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        table = self._quoted_table
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                "lead_id TEXT PRIMARY KEY, item TEXT NOT NULL, "
                "normalized_at INTEGER, updated_at TEXT)"
            )
            columns = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
            if columns != _LEAD_COLUMNS:
                raise StorageError(
                    f"SQLite store {self._path!r}: table {self._table!r} exists with columns "
                    f"{', '.join(columns)}, not {', '.join(_LEAD_COLUMNS)}"
                )
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{self._table}_normalized_at" '
                f"ON {table} (normalized_at)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_CONFIG_TABLE} "
                "(config_id TEXT PRIMARY KEY, item TEXT NOT NULL)"
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @property
    def _quoted_table(self) -> str:
        return f'"{self._table}"'

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"SQLite store {self._path!r} is closed")
        return self._conn

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if _DECODE_ERROR in str(exc):
                # The one sqlite3 message that quotes a stored value: replace it, drop it.
                raise StorageError(
                    f"SQLite store {self._path!r}: {action} failed: a text column is not "
                    "valid UTF-8"
                ) from None
            # Other sqlite3 messages name tables, columns and files, never bound values.
            raise StorageError(f"SQLite store {self._path!r}: {action} failed: {exc}") from exc

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """Hold the lock and a write transaction (`BEGIN IMMEDIATE`): all or nothing."""
        with self._lock, self._errors(action):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT (busy): never leave the transaction open.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, action: str, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        with self._lock, self._errors(action):
            return self._connection().execute(sql, parameters).fetchall()

    # -- the contract ----------------------------------------------------------------------

    def iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool = False, limit: int | None = None
    ) -> Iterator[StoredLead]:
        """Stream the leads due for normalization, in `leadId` order, at most `limit`.

        A lead is due if its `normalizedAt` is missing, not a number, or older than the TTL
        cutoff; with `force` every lead is. Leads are read `page_size` at a time; each page
        sees the writes committed before it. A row that cannot be decoded is skipped with a
        warning naming its lead id (see `unreadable`) and does not count towards `limit`.

        Raises:
            ConfigurationError: `limit` is negative.
            StorageError: The database failed or the store is closed.
        """
        if limit is not None and limit < 0:
            raise ConfigurationError(f"limit must be None or >= 0, got {limit}")
        condition = "" if force else "AND (normalized_at IS NULL OR normalized_at < ?)"
        extra: tuple[Any, ...] = () if force else (clamp(ttl_cutoff_ms(now_ms, ttl_days)),)
        return (
            StoredLead(lead_id=lead_id, item=item)
            for lead_id, item in self._pages("select due leads", condition, extra, limit)
        )

    def count_due(self, *, now_ms: int, ttl_days: float, force: bool = False) -> int:
        """How many leads are due for normalization: one ``COUNT(*)`` on the indexed column.

        The same selection as `iter_due`, without reading a single item; a row `iter_due`
        skips because it cannot be decoded is counted (it is still due).

        Raises:
            StorageError: The database failed or the store is closed.
        """
        sql = f"SELECT COUNT(*) FROM {self._quoted_table}"
        parameters: tuple[Any, ...] = ()
        if not force:
            sql += " WHERE normalized_at IS NULL OR normalized_at < ?"
            parameters = (clamp(ttl_cutoff_ms(now_ms, ttl_days)),)
        [(count,)] = self._read("count due leads", sql, parameters)
        return int(count)

    def _page_sql(self, condition: str = "") -> str:
        # Rows are read as bytes (CAST AS BLOB) and decoded here: sqlite3's own decoding
        # fails on the whole page, quoting the value. The key is compared as stored bytes.
        return (
            f"SELECT CAST(lead_id AS BLOB), CAST(item AS BLOB) FROM {self._quoted_table} "
            f"WHERE lead_id > CAST(? AS TEXT) {condition} ORDER BY lead_id LIMIT ?"
        )

    def _pages(
        self, action: str, condition: str, extra: tuple[Any, ...], limit: int | None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Run a keyset-paged query (`lead_id > ?` ... `LIMIT ?`); yield decoded items."""
        sql = self._page_sql(condition)
        last = b""
        yielded = 0
        while limit is None or yielded < limit:
            size = self._page_size if limit is None else min(self._page_size, limit - yielded)
            rows = self._read(action, sql, (last, *extra, size))
            for raw_id, raw_item in rows:
                decoded = self._readable(raw_id, raw_item)
                if decoded is not None:
                    yield decoded
                    yielded += 1
            if len(rows) < size:
                return
            last = rows[-1][0]

    def _readable(self, raw_id: bytes, raw_item: bytes) -> tuple[str, dict[str, Any]] | None:
        """Decode one row, or warn (naming the lead, never a value) and return `None`."""
        try:
            lead_id = raw_id.decode("utf-8")
        except UnicodeDecodeError:
            self._skip(raw_id.decode("utf-8", "backslashreplace"), "lead_id", "not valid UTF-8")
            return None
        try:
            return lead_id, decode_item(raw_item)
        except Unreadable as exc:
            self._skip(lead_id, "item", exc.problem)
            return None

    def _skip(self, lead_id: str, column: str, problem: str) -> None:
        with self._lock:
            first = lead_id not in self._unreadable
            self._unreadable[lead_id] = None
        if first:
            logger.warning(
                "SQLite store %s: lead %r skipped: its %s is %s; the other leads go on "
                "(fix or delete that row of table %s)",
                self._path,
                lead_id,
                column,
                problem,
                self._table,
            )

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        """Write `update.attributes_for(lead)` if the lead is unchanged since it was read.

        Unchanged: it exists, its `updatedAt` is the one read, and every watched attribute
        holds exactly the value read (`LeadUpdate.unchanged_since_read`), all checked in
        the write transaction. A row that became undecodable since the read has changed:
        it is a conflict, with a warning naming the lead.

        Returns:
            `"saved"`, `"conflict"` (the lead's `updatedAt` or a watched attribute changed
            since it was read) or `"missing"` (the lead was deleted; it is not re-created).

        Raises:
            ConfigurationError: The update holds a value JSON cannot carry.
            StorageError: The database failed or the store is closed.
        """
        try:
            seen = updated_at_key(lead.seen_updated_at)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"the updatedAt read from lead {lead.lead_id!r} is not a JSON value"
            ) from exc
        seen_bytes = None if seen is None else seen.encode("ascii")
        attributes = update.attributes_for(lead)
        with self._transaction("save") as conn:
            row = conn.execute(
                "SELECT CAST(item AS BLOB), CAST(updated_at AS BLOB) "
                f"FROM {self._quoted_table} WHERE lead_id = ?",
                (lead.lead_id,),
            ).fetchone()
            item: dict[str, Any] | None = None
            if row is not None and row[1] == seen_bytes:
                try:
                    item = decode_item(row[0])
                except Unreadable as exc:
                    self._skip(lead.lead_id, "item", exc.problem)
            if row is None:
                status: SaveStatus = "missing"
            elif item is None or not update.unchanged_since_read(lead, item):
                status = "conflict"
            else:
                item.update(attributes)
                cursor = conn.execute(
                    f"UPDATE {self._quoted_table} "
                    "SET item = ?, normalized_at = ?, updated_at = ? "
                    "WHERE lead_id = ? AND updated_at IS ?",
                    (*columns(item, f"the update of lead {lead.lead_id!r}"), lead.lead_id, seen),
                )
                status = "saved" if cursor.rowcount == 1 else "conflict"
        return status

    def rollback(self, prompt_version: str) -> int:
        """Restore every lead `prompt_version` saved last to its state before; return the count.

        Each lead gets `rollback_changes`: its normalization attributes as before the
        version's first save (absent where they were absent), and its `updatedAt` too
        unless it was edited after the save. The whole rollback is one transaction, read
        in pages; a row that cannot be decoded is skipped with a warning.
        """
        count = 0
        select = self._page_sql()
        update = (
            f"UPDATE {self._quoted_table} SET item = ?, normalized_at = ?, updated_at = ? "
            "WHERE lead_id = ?"
        )
        with self._transaction("rollback") as conn:
            last = b""
            while True:
                rows = conn.execute(select, (last, self._page_size)).fetchall()
                writes = []
                for raw_id, raw_item in rows:
                    decoded = self._readable(raw_id, raw_item)
                    if decoded is None:
                        continue
                    lead_id, item = decoded
                    changes = rollback_changes(item, prompt_version)
                    if changes is not None:
                        changes.apply(item)
                        writes.append((*columns(item, f"lead {lead_id!r}"), lead_id))
                conn.executemany(update, writes)
                count += len(writes)
                if len(rows) < self._page_size:
                    break
                last = rows[-1][0]
        logger.debug("rolled back %d leads in table %s", count, self._table)
        return count

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace whole items in one transaction; return how many were written.

        Items are consumed one at a time (a large import is never held in memory), and
        written all or nothing.

        Raises:
            ConfigurationError: An item is not a mapping, has no non-empty string `leadId`,
                or holds a value JSON cannot carry (the message gives its position);
                nothing is written then.
            StorageError: The database failed or the store is closed.
        """
        sql = (
            f"INSERT OR REPLACE INTO {self._quoted_table} "
            "(item, normalized_at, updated_at, lead_id) VALUES (?, ?, ?, ?)"
        )
        count = 0
        with self._transaction("put") as conn:
            for position, item in enumerate(items):
                lead_id = lead_id_of(item, position)
                conn.execute(sql, (*columns(item, f"item {position}"), lead_id))
                count += 1
        logger.debug("put %d leads into table %s", count, self._table)
        return count

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return one item, or `None`.

        Raises:
            StorageError: The row cannot be decoded (the message names the lead and the
                problem, never the bytes), the database failed or the store is closed.
        """
        rows = self._read(
            "get",
            f"SELECT CAST(item AS BLOB) FROM {self._quoted_table} WHERE lead_id = ?",
            (lead_id,),
        )
        return self._decode(rows[0][0], lead_id) if rows else None

    def scan(self) -> Iterator[dict[str, Any]]:
        """Stream every item in `leadId` order, `page_size` at a time.

        A row that cannot be decoded is skipped with a warning naming its lead id (see
        `unreadable`): an export goes on without it.
        """
        return (item for _, item in self._pages("scan", "", (), None))

    def delete(self, lead_id: str) -> bool:
        """Remove one lead (as a user deleting it mid-run would); return whether it existed."""
        with self._transaction("delete") as conn:
            cursor = conn.execute(f"DELETE FROM {self._quoted_table} WHERE lead_id = ?", (lead_id,))
            return cursor.rowcount == 1

    def load_config(self) -> Mapping[str, Any] | None:
        """Return the stored `normalization-settings` item, or `None` if there is none."""
        rows = self._read(
            "load config",
            f"SELECT CAST(item AS BLOB) FROM {_CONFIG_TABLE} WHERE config_id = ?",
            (CONFIG_ID,),
        )
        return self._decode(rows[0][0], CONFIG_ID) if rows else None

    def set_config(self, item: Mapping[str, Any] | None) -> None:
        """Store the seed's `normalization-settings` item as given (`None` removes it).

        Raises:
            ConfigurationError: The item is not a mapping or holds a value JSON cannot carry.
        """
        if item is None:
            with self._transaction("set config") as conn:
                conn.execute(f"DELETE FROM {_CONFIG_TABLE} WHERE config_id = ?", (CONFIG_ID,))
            return
        self._write_config(config_text(item))

    def _write_config(self, text: str) -> None:
        with self._transaction("set config") as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {_CONFIG_TABLE} (config_id, item) VALUES (?, ?)",
                (CONFIG_ID, text),
            )

    def load_batch_job(self) -> str | None:
        """The backfill's batch job recorded in the config table, if any."""
        rows = self._read(
            "load batch job",
            f"SELECT CAST(item AS BLOB) FROM {_CONFIG_TABLE} WHERE config_id = ?",
            (BATCH_JOB_ID,),
        )
        if not rows:
            return None
        job = self._decode(rows[0][0], BATCH_JOB_ID).get("job")
        return job if isinstance(job, str) else None

    def record_batch_job(self, job: str | None, *, replace: bool = False) -> None:
        """Record the backfill's batch job in flight in the config table (`None` clears it).

        Raises:
            BatchJobRecordedError: Another job is recorded and `replace` is false.
        """
        with self._transaction("record batch job") as conn:
            if job is None:
                conn.execute(f"DELETE FROM {_CONFIG_TABLE} WHERE config_id = ?", (BATCH_JOB_ID,))
                return
            if not replace:
                row = conn.execute(
                    f"SELECT CAST(item AS BLOB) FROM {_CONFIG_TABLE} WHERE config_id = ?",
                    (BATCH_JOB_ID,),
                ).fetchone()
                recorded = None if row is None else self._decode(row[0], BATCH_JOB_ID).get("job")
                if isinstance(recorded, str) and recorded != job:
                    raise batch_job_recorded(f"SQLite store {self._path!r}", recorded)
            conn.execute(
                f"INSERT OR REPLACE INTO {_CONFIG_TABLE} (config_id, item) VALUES (?, ?)",
                (BATCH_JOB_ID, json.dumps({"job": job})),
            )

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards. Closing twice is harmless."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with self._errors("close"):
                    conn.close()

    def _decode(self, raw: bytes, key: str) -> dict[str, Any]:
        try:
            return decode_item(raw)
        except Unreadable as exc:
            raise StorageError(
                f"SQLite store {self._path!r}: the item of {key!r} is {exc.problem}; "
                "fix or delete that row"
            ) from None
