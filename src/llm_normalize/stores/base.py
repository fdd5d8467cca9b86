"""The lead store contract: where the scheduled job reads leads and writes results back.

A `LeadStore` holds leads as items keyed by `leadId`, in the seed's shape: the original
attributes as submitted, plus the four attributes normalization writes beside them:

- `normalizedData`: the normalized value of each field;
- `normalizedAt`: when, in epoch milliseconds (the seed writes `Date.now()`);
- `updatedAt`: the same instant, as the seed does;
- `normalizationMeta`: the audit trail: prompt version, model id, and per field the source
  (rules, llm, cache) and review flags. Never a field value beyond `normalizedData`.

Rules every store keeps:

- Original attributes are never written by a save or a rollback.
- A save is conditional: it succeeds only if the lead still exists and its `updatedAt` is
  the one seen when it was read (or still absent). A lead changed mid-run is `"conflict"`,
  a deleted one `"missing"`; neither is overwritten or re-created.
- Selection streams the leads whose `normalizedAt` is missing or older than the TTL
  (all leads with `force`), without loading the table into memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TypeAlias, runtime_checkable

from llm_normalize.records import (
    LEAD_ID,
    NORMALIZATION_META,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
)

__all__ = [
    "LEAD_ID",
    "NORMALIZATION_ATTRIBUTES",
    "NORMALIZATION_META",
    "NORMALIZED_AT",
    "NORMALIZED_DATA",
    "UPDATED_AT",
    "LeadStore",
    "LeadUpdate",
    "SaveStatus",
    "StoredLead",
    "needs_normalization",
    "ttl_cutoff_ms",
]


NORMALIZATION_ATTRIBUTES: Final = frozenset(
    {NORMALIZED_DATA, NORMALIZED_AT, UPDATED_AT, NORMALIZATION_META}
)
"""The only attributes normalization writes; everything else in an item is original data."""

SaveStatus: TypeAlias = Literal["saved", "conflict", "missing"]
"""What became of a save: written, skipped because the lead changed, or because it is gone."""

_MS_PER_DAY: Final = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class StoredLead:
    """A lead as read from a store.

    Attributes:
        lead_id: The lead's key.
        item: The whole item as stored (originals and any earlier normalization), read-only
            by convention; numbers come back as `int` or `float`, never `Decimal`.
    """

    lead_id: str
    item: Mapping[str, Any]

    @property
    def seen_updated_at(self) -> Any:
        """The `updatedAt` value read (any type, compared as is), or `None` if absent."""
        return self.item.get(UPDATED_AT)

    @property
    def normalized_at(self) -> int | None:
        """When the lead was last normalized (epoch ms), if it was."""
        return _as_ms(self.item.get(NORMALIZED_AT))


@dataclass(frozen=True, slots=True)
class LeadUpdate:
    """What a save writes beside the originals.

    Attributes:
        normalized_data: The normalized value of each field.
        meta: The audit attribute (`promptVersion`, `modelId`, `source`, `flags`).
        timestamp_ms: The instant written to both `normalizedAt` and `updatedAt`.
    """

    normalized_data: Mapping[str, str | None]
    meta: Mapping[str, Any]
    timestamp_ms: int

    def attributes(self) -> dict[str, Any]:
        """The four attributes as a store writes them."""
        return {
            NORMALIZED_DATA: dict(self.normalized_data),
            NORMALIZED_AT: self.timestamp_ms,
            UPDATED_AT: self.timestamp_ms,
            NORMALIZATION_META: dict(self.meta),
        }


def _as_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        # NaN and infinity are not instants: such a lead counts as never normalized.
        return int(value) if math.isfinite(value) else None
    return None


def ttl_cutoff_ms(now_ms: int, ttl_days: float) -> int:
    """The `normalizedAt` below which a lead is due again."""
    return now_ms - int(ttl_days * _MS_PER_DAY)


def needs_normalization(
    item: Mapping[str, Any], *, now_ms: int, ttl_days: float, force: bool
) -> bool:
    """The seed's selection: never normalized, or normalized before the TTL cutoff.

    A `normalizedAt` that is not a number (a string written by another tool) counts as
    never normalized.
    """
    if force:
        return True
    at = _as_ms(item.get(NORMALIZED_AT))
    return at is None or at < ttl_cutoff_ms(now_ms, ttl_days)


@runtime_checkable
class LeadStore(Protocol):
    """Where leads live: read the ones due, save results conditionally, roll back, import, export.

    Implementations: `MemoryLeadStore`, `SQLiteLeadStore` (the embedded default) and
    `DynamoDBLeadStore`. All of them pass the same contract tests.
    """

    def iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool = False, limit: int | None = None
    ) -> Iterator[StoredLead]:
        """Stream the leads that need normalization, at most `limit` of them."""
        ...

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        """Write `update` beside the lead's originals, if it is unchanged since it was read."""
        ...

    def rollback(self, prompt_version: str) -> int:
        """Undo a prompt version: remove what it wrote from every lead it normalized.

        `normalizedData`, `normalizationMeta` and `normalizedAt` are removed, so the next
        run redoes those leads; returns how many leads were rolled back.
        """
        ...

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace whole items (the import command); each needs a `leadId`."""
        ...

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return one item, or `None`."""
        ...

    def scan(self) -> Iterator[dict[str, Any]]:
        """Stream every item (the export command)."""
        ...

    def load_config(self) -> Mapping[str, Any] | None:
        """Return the seed's `normalization-settings` config item, if the store has one."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
