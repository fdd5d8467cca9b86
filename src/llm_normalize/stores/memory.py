"""`MemoryLeadStore`: leads in a Python dict, for tests, notebooks and small experiments.

It keeps every rule of the `LeadStore` contract (saves conditional on what was read, no
ghost items, rollback that restores the state before a prompt version) so that code tested
against it behaves the same on SQLite or DynamoDB. Items are deep-copied on the way in and on the way out: a caller that mutates
what it put or what it read never changes the stored data. A lock makes it safe to share
between threads. Nothing is persisted; `close` drops the data.

Examples:
    >>> store = MemoryLeadStore([{"leadId": "a1", "ciudad": "bogota"}])
    >>> [lead.lead_id for lead in store.iter_due(now_ms=0, ttl_days=30)]
    ['a1']
"""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from llm_normalize.exceptions import ConfigurationError, StorageError
from llm_normalize.stores.base import (
    LEAD_ID,
    NORMALIZED_AT,
    LeadUpdate,
    SaveStatus,
    StoredLead,
    batch_job_recorded,
    needs_normalization,
    rollback_changes,
    ttl_cutoff_ms,
)

__all__ = ["MemoryLeadStore"]

logger = logging.getLogger(__name__)


class MemoryLeadStore:
    """A `LeadStore` in memory: thread-safe, deep-copying, gone when the process ends.

    Args:
        items: Leads to start with, as `put` takes them (each with a string `leadId`).
        config: The seed's `normalization-settings` item that `load_config` returns.

    Raises:
        ConfigurationError: An initial item has no string `leadId`.

    Leads come out of `iter_due` and `scan` ordered by `leadId`, as from `SQLiteLeadStore`.
    """

    def __init__(
        self, items: Iterable[Mapping[str, Any]] = (), *, config: Mapping[str, Any] | None = None
    ) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, dict[str, Any]] = {}
        self._config: dict[str, Any] | None = None
        self._batch_job: str | None = None
        self._closed = False
        self.put(items)
        self.set_config(config)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._items)} leads"
        return f"{type(self).__name__}({state})"

    def __len__(self) -> int:
        """The number of leads stored."""
        with self._lock:
            return len(self._items)

    def __enter__(self) -> MemoryLeadStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the memory lead store is closed")

    def iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool = False, limit: int | None = None
    ) -> Iterator[StoredLead]:
        """Yield copies of the leads due for normalization, in `leadId` order, at most `limit`.

        The ids are taken when iteration starts; each lead is then read (and checked to be
        still present and still due) when its turn comes, so saving while iterating is safe.

        Raises:
            ConfigurationError: `limit` is negative.
            StorageError: The store is closed.
        """
        _check_limit(limit)
        return self._iter_due(now_ms=now_ms, ttl_days=ttl_days, force=force, limit=limit)

    def _iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool, limit: int | None
    ) -> Iterator[StoredLead]:
        if limit == 0:
            return
        with self._lock:
            self._check_open()
            ids = sorted(self._items)
        yielded = 0
        for lead_id in ids:
            with self._lock:
                self._check_open()
                item = self._items.get(lead_id)
                if item is None or not _is_due(item, now_ms=now_ms, ttl_days=ttl_days, force=force):
                    continue
                lead = StoredLead(lead_id=lead_id, item=copy.deepcopy(item))
            yield lead
            yielded += 1
            if limit is not None and yielded >= limit:
                return

    def count_due(self, *, now_ms: int, ttl_days: float, force: bool = False) -> int:
        """How many leads are due for normalization, counted under the lock without copying.

        Raises:
            StorageError: The store is closed.
        """
        with self._lock:
            self._check_open()
            return sum(
                1
                for item in self._items.values()
                if _is_due(item, now_ms=now_ms, ttl_days=ttl_days, force=force)
            )

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        """Write `update.attributes_for(lead)` if the lead is unchanged since it was read.

        Unchanged: it exists, its `updatedAt` is the one read, and every watched attribute
        holds exactly the value read (`LeadUpdate.unchanged_since_read`), checked and
        written under the store's lock.

        Returns:
            `"saved"`, `"conflict"` (the lead's `updatedAt` or a watched attribute changed
            since it was read) or `"missing"` (the lead was deleted; it is not re-created).
        """
        attributes = copy.deepcopy(update.attributes_for(lead))
        with self._lock:
            self._check_open()
            current = self._items.get(lead.lead_id)
            if current is None:
                return "missing"
            if not update.unchanged_since_read(lead, current):
                return "conflict"
            current.update(attributes)
            return "saved"

    def rollback(self, prompt_version: str) -> int:
        """Restore every lead `prompt_version` saved last to its state before; return the count.

        Each lead gets `rollback_changes`: its normalization attributes as before the
        version's first save (absent where they were absent), and its `updatedAt` too
        unless it was edited after the save. Done under the store's lock, all at once.
        """
        count = 0
        with self._lock:
            self._check_open()
            for item in self._items.values():
                changes = rollback_changes(item, prompt_version)
                if changes is not None:
                    changes.apply(item)
                    count += 1
        logger.debug("rolled back %d leads", count)
        return count

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace whole items; all or nothing; return how many were written.

        Raises:
            ConfigurationError: An item is not a mapping or has no non-empty string `leadId`
                (the message gives its position); nothing is written then.
            StorageError: The store is closed.
        """
        copies: list[dict[str, Any]] = []
        for position, item in enumerate(items):
            copies.append(copy.deepcopy(dict(_checked_item(item, position))))
        with self._lock:
            self._check_open()
            for item in copies:
                self._items[item[LEAD_ID]] = item
        return len(copies)

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return a copy of one item, or `None`."""
        with self._lock:
            self._check_open()
            item = self._items.get(lead_id)
            return None if item is None else copy.deepcopy(item)

    def scan(self) -> Iterator[dict[str, Any]]:
        """Yield a copy of every item, in `leadId` order."""
        return (
            dict(lead.item) for lead in self._iter_due(now_ms=0, ttl_days=0, force=True, limit=None)
        )

    def delete(self, lead_id: str) -> bool:
        """Remove one lead (as a user deleting it mid-run would); return whether it existed."""
        with self._lock:
            self._check_open()
            return self._items.pop(lead_id, None) is not None

    def load_config(self) -> Mapping[str, Any] | None:
        """Return a copy of the config item given to the constructor or `set_config`, or `None`."""
        with self._lock:
            self._check_open()
            return None if self._config is None else copy.deepcopy(self._config)

    def set_config(self, item: Mapping[str, Any] | None) -> None:
        """Store the seed's `normalization-settings` item (`None` removes it)."""
        if item is not None and not isinstance(item, Mapping):
            raise ConfigurationError("the config item must be a mapping")
        with self._lock:
            self._check_open()
            self._config = None if item is None else copy.deepcopy(dict(item))

    def load_batch_job(self) -> str | None:
        """The batch job recorded by `record_batch_job`, if any."""
        with self._lock:
            self._check_open()
            return self._batch_job

    def record_batch_job(self, job: str | None, *, replace: bool = False) -> None:
        """Record the backfill's batch job in flight (`None` clears it).

        Raises:
            BatchJobRecordedError: Another job is recorded and `replace` is false.
        """
        with self._lock:
            self._check_open()
            recorded = self._batch_job
            if job is not None and recorded is not None and not replace and recorded != job:
                raise batch_job_recorded("the memory store", recorded)
            self._batch_job = job

    def close(self) -> None:
        """Drop the data; the store is unusable afterwards. Closing twice is harmless."""
        with self._lock:
            self._closed = True
            self._items = {}
            self._config = None


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ConfigurationError(f"limit must be None or >= 0, got {limit}")


def _checked_item(item: object, position: int) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"item {position} is not a mapping")
    lead_id = item.get(LEAD_ID)
    if not isinstance(lead_id, str) or not lead_id:
        raise ConfigurationError(f"item {position} has no {LEAD_ID} (a non-empty string)")
    return item


def _is_due(item: Mapping[str, Any], *, now_ms: int, ttl_days: float, force: bool) -> bool:
    at = item.get(NORMALIZED_AT)
    if isinstance(at, float) and not math.isfinite(at):
        # int() of these raises; a NaN is no time at all, infinity is never stale.
        return force or math.isnan(at) or at < ttl_cutoff_ms(now_ms, ttl_days)
    return needs_normalization(item, now_ms=now_ms, ttl_days=ttl_days, force=force)
