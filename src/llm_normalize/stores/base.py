"""The lead store contract: where the scheduled job reads leads and writes results back.

A `LeadStore` holds leads as items keyed by `leadId`, in the seed's shape: the original
attributes as submitted, plus the five attributes normalization writes beside them:

- `normalizedData`: the normalized value of each field;
- `normalizedAt`: when, in epoch milliseconds (the seed writes `Date.now()`);
- `updatedAt`: the same instant, as the seed does;
- `normalizationMeta`: the audit trail: prompt version, model id, and per field the source
  (rules, llm, cache) and review flags. Never a field value beyond `normalizedData`;
- `normalizationPrevious`: what the save replaced, so that a rollback restores it exactly
  (see `previous_state`); it holds earlier `normalizedData`, so it is personal data too.

Rules every store keeps:

- Original attributes are never written by a save or a rollback.
- A save is conditional on what was read: it succeeds only if the lead still exists, its
  `updatedAt` is the one seen when it was read (or still absent), and every attribute the
  update watches (`LeadUpdate.watched`: the fields the result was computed from) still
  holds exactly the value read, type included (an absent one still absent). A lead
  changed mid-run is `"conflict"`, a deleted one `"missing"`; neither is overwritten or
  re-created.
- A rollback of a prompt version restores, on every lead that version saved last, the
  state before the version's first save: `normalizedData`, `normalizedAt`,
  `normalizationMeta` and `normalizationPrevious` as they were (or absent if they were),
  and `updatedAt` too unless the lead was edited after the save (then the edit's
  `updatedAt` stays). `rollback_changes` says what to write; every store applies it.
- Selection streams the leads whose `normalizedAt` is missing or older than the TTL
  (all leads with `force`), without loading the table into memory; `count_due` counts
  them without reading them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TypeAlias, runtime_checkable

from llm_normalize.exceptions import BatchJobRecordedError, ConfigurationError
from llm_normalize.records import (
    LEAD_ID,
    NORMALIZATION_META,
    NORMALIZATION_PREVIOUS,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
)

__all__ = [
    "BATCH_JOB_ID",
    "LEAD_ID",
    "MAX_PREVIOUS_STATES",
    "NORMALIZATION_ATTRIBUTES",
    "NORMALIZATION_META",
    "NORMALIZATION_PREVIOUS",
    "NORMALIZED_AT",
    "NORMALIZED_DATA",
    "UPDATED_AT",
    "LeadStore",
    "LeadUpdate",
    "RecordsBatchJob",
    "RollbackChanges",
    "SaveStatus",
    "StoredLead",
    "batch_job_recorded",
    "needs_normalization",
    "previous_state",
    "rollback_changes",
    "same_value",
    "ttl_cutoff_ms",
]


NORMALIZATION_ATTRIBUTES: Final = frozenset(
    {NORMALIZED_DATA, NORMALIZED_AT, UPDATED_AT, NORMALIZATION_META, NORMALIZATION_PREVIOUS}
)
"""The only attributes normalization writes; everything else in an item is original data."""

MAX_PREVIOUS_STATES: Final = 3
"""How many earlier states `normalizationPrevious` keeps, nested; older ones are dropped.

Each state is one level of nesting more: DynamoDB allows 32 levels and 400 KB per item.
"""

# What a previous state records of the item as read, and what a rollback restores from it.
_STATE_ATTRIBUTES: Final = (NORMALIZED_DATA, NORMALIZED_AT, UPDATED_AT, NORMALIZATION_META)
_RESTORED: Final = (NORMALIZED_DATA, NORMALIZED_AT, NORMALIZATION_META, NORMALIZATION_PREVIOUS)
# A lead saved before `normalizationPrevious` existed: rollback removes what the save wrote.
_LEGACY_REMOVED: Final = (NORMALIZED_DATA, NORMALIZATION_META, NORMALIZED_AT)

SaveStatus: TypeAlias = Literal["saved", "conflict", "missing"]
"""What became of a save: written, skipped because the lead changed, or because it is gone."""

_MS_PER_DAY: Final = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True, repr=False)
class StoredLead:
    """A lead as read from a store.

    Its repr shows the lead id and the number of attributes, never a value.

    Attributes:
        lead_id: The lead's key.
        item: The whole item as stored (originals and any earlier normalization), read-only
            by convention; numbers come back as `int` or `float`, never `Decimal`.
        wire: The same item in DynamoDB's typed form, exactly as read, when a
            `DynamoDBLeadStore` read it (else `None`). Its save compares the watched
            attributes with these typed values, so a set (read as a sorted list) or a
            number with more digits than a float holds still matches what is stored.
    """

    lead_id: str
    item: Mapping[str, Any]
    wire: Mapping[str, Any] | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"StoredLead(lead_id={self.lead_id!r}, attributes={len(self.item)})"

    @property
    def seen_updated_at(self) -> Any:
        """The `updatedAt` value read (any type, compared as is), or `None` if absent."""
        return self.item.get(UPDATED_AT)

    @property
    def normalized_at(self) -> int | None:
        """When the lead was last normalized (epoch ms), if it was."""
        return _as_ms(self.item.get(NORMALIZED_AT))


@dataclass(frozen=True, slots=True, repr=False)
class LeadUpdate:
    """What a save writes beside the originals, and what it must find unchanged.

    Its repr names the fields, the prompt version and the watched attributes, never a value.

    Attributes:
        normalized_data: The normalized value of each field.
        meta: The audit attribute (`promptVersion`, `modelId`, `source`, `flags`).
        timestamp_ms: The instant written to both `normalizedAt` and `updatedAt`.
        watched: The original attributes the result was computed from (the job passes the
            config's fields to normalize). The save succeeds only if each still holds
            exactly the value read in `StoredLead.item` (same type, deep equality for maps
            and lists; absent when read means still absent). Empty: only `updatedAt` is
            compared. Given as any iterable of names; kept as a tuple without repeats.

    Raises:
        ConfigurationError: `watched` is a single string, or holds an empty name or a
            non-string.
    """

    normalized_data: Mapping[str, str | None]
    meta: Mapping[str, Any]
    timestamp_ms: int
    watched: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        watched: object = self.watched
        if isinstance(watched, str | bytes) or not isinstance(watched, Iterable):
            raise ConfigurationError(
                "watched must be a tuple of attribute names, e.g. ('ciudad',), not one string"
            )
        names = tuple(dict.fromkeys(watched))
        if not all(isinstance(name, str) and name for name in names):
            raise ConfigurationError("watched must hold attribute names (non-empty strings)")
        object.__setattr__(self, "watched", names)

    def __repr__(self) -> str:
        return (
            f"LeadUpdate(fields={sorted(self.normalized_data)!r}, "
            f"prompt_version={self.prompt_version!r}, timestamp_ms={self.timestamp_ms!r}, "
            f"watched={self.watched!r})"
        )

    @property
    def prompt_version(self) -> str | None:
        """The `promptVersion` of `meta`, if it names one."""
        version = self.meta.get("promptVersion")
        return version if isinstance(version, str) else None

    def attributes(self) -> dict[str, Any]:
        """The four attributes the update sets whatever the lead (all but the previous state)."""
        return {
            NORMALIZED_DATA: dict(self.normalized_data),
            NORMALIZED_AT: self.timestamp_ms,
            UPDATED_AT: self.timestamp_ms,
            NORMALIZATION_META: dict(self.meta),
        }

    def attributes_for(self, lead: StoredLead) -> dict[str, Any]:
        """The five attributes a save of `lead` writes: `attributes()` and its previous state.

        `normalizationPrevious` is `previous_state(lead.item, prompt_version)`: what the
        save replaces, as read, for a rollback to restore.
        """
        return {
            **self.attributes(),
            NORMALIZATION_PREVIOUS: previous_state(lead.item, self.prompt_version),
        }

    def unchanged_since_read(self, lead: StoredLead, current: Mapping[str, Any]) -> bool:
        """Whether `current` (the item as stored now) still holds what `lead` read.

        The same `updatedAt` (a null one counts as absent, as `seen_updated_at` reads it)
        and, for each watched attribute, the same presence and `same_value`. Stores that
        compare in Python (memory, SQLite) call this inside their write lock; DynamoDB
        sends the same rule as its condition.
        """
        if not same_value(current.get(UPDATED_AT), lead.seen_updated_at):
            return False
        for name in self.watched:
            if name in current:
                if name not in lead.item or not same_value(current[name], lead.item[name]):
                    return False
            elif name in lead.item:
                return False
        return True


def same_value(stored: Any, seen: Any) -> bool:
    """Whether two values are the same: same type at every level, and equal.

    `True == 1` and `1 == 1.0` in Python, but another tool writing `1.0` over `1`, or
    `"5"` over `5`, is an edit. Maps compare key by key, lists item by item; NaN equals NaN.

    Examples:
        >>> same_value({"a": [1, "x"]}, {"a": [1, "x"]}), same_value(1, True), same_value(1, 1.0)
        (True, False, False)
    """
    if type(stored) is not type(seen):
        return False
    if isinstance(stored, Mapping):
        return stored.keys() == seen.keys() and all(
            same_value(stored[key], seen[key]) for key in stored
        )
    if isinstance(stored, list | tuple):
        return len(stored) == len(seen) and all(
            same_value(a, b) for a, b in zip(stored, seen, strict=True)
        )
    if isinstance(stored, float) and math.isnan(stored):
        return math.isnan(seen)
    return bool(stored == seen)


def previous_state(item: Mapping[str, Any], prompt_version: str | None) -> dict[str, Any]:
    """The `normalizationPrevious` a save of `prompt_version` writes over `item` (as read).

    - `item` last normalized by another version, or never: its `normalizedData`,
      `normalizedAt`, `updatedAt` and `normalizationMeta` (those present; an absent one
      stays absent), with its own `normalizationPrevious` nested inside, cut so that at
      most `MAX_PREVIOUS_STATES` states are kept in all.
    - `item` last normalized by the same version (a TTL re-run): its `normalizationPrevious`
      as it is, so a rollback of the version goes back to before its first save. A lead
      saved before this attribute existed has none: then `{updatedAt: ...}` as read, or `{}`.

    Values are copies; `item` is not changed.

    Examples:
        >>> previous_state({"leadId": "a", "updatedAt": 5}, "v1")
        {'updatedAt': 5}
        >>> previous_state({"leadId": "a"}, "v1")
        {}
    """
    earlier = item.get(NORMALIZATION_PREVIOUS)
    if prompt_version is not None and _version_of(item) == prompt_version:
        if isinstance(earlier, Mapping):
            return _cut(earlier, MAX_PREVIOUS_STATES)
        return {UPDATED_AT: copy.deepcopy(item[UPDATED_AT])} if UPDATED_AT in item else {}
    state = {name: copy.deepcopy(item[name]) for name in _STATE_ATTRIBUTES if name in item}
    if isinstance(earlier, Mapping) and MAX_PREVIOUS_STATES > 1:
        state[NORMALIZATION_PREVIOUS] = _cut(earlier, MAX_PREVIOUS_STATES - 1)
    return state


def _cut(state: Mapping[str, Any], keep: int) -> dict[str, Any]:
    """A copy of `state` with at most `keep` states in all, itself included (`keep >= 1`)."""
    out = {
        name: copy.deepcopy(value)
        for name, value in state.items()
        if name != NORMALIZATION_PREVIOUS
    }
    nested = state.get(NORMALIZATION_PREVIOUS)
    if isinstance(nested, Mapping) and keep > 1:
        out[NORMALIZATION_PREVIOUS] = _cut(nested, keep - 1)
    return out


def _version_of(item: Mapping[str, Any]) -> str | None:
    meta = item.get(NORMALIZATION_META)
    version = meta.get("promptVersion") if isinstance(meta, Mapping) else None
    return version if isinstance(version, str) else None


@dataclass(frozen=True, slots=True, repr=False)
class RollbackChanges:
    """What a rollback writes on one lead: attributes to set, attributes to remove.

    Its repr names the attributes, never a value.

    Attributes:
        restore: The normalization attributes to set, with the values to set them to.
        remove: The normalization attributes to remove (removing an absent one is harmless).
    """

    restore: Mapping[str, Any]
    remove: tuple[str, ...]

    def __repr__(self) -> str:
        return f"RollbackChanges(restore={sorted(self.restore)!r}, remove={self.remove!r})"

    def apply(self, item: MutableMapping[str, Any]) -> None:
        """Make the changes to `item` in place (the memory and SQLite stores' way)."""
        for name in self.remove:
            item.pop(name, None)
        item.update(copy.deepcopy(dict(self.restore)))


def rollback_changes(item: Mapping[str, Any], prompt_version: str) -> RollbackChanges | None:
    """What a rollback of `prompt_version` writes on `item`, or `None` if that version did not save it last.

    With a `normalizationPrevious` P (a mapping): `normalizedData`, `normalizedAt`,
    `normalizationMeta` and `normalizationPrevious` take P's values, or are removed where
    P has none. `updatedAt` takes P's (or is removed) only while the item's `updatedAt` is
    still its `normalizedAt`, i.e. nobody edited the lead since the save; after an edit the
    edit's `updatedAt` stays. A lead saved before `normalizationPrevious` existed loses
    `normalizedData`, `normalizationMeta` and `normalizedAt`, and keeps `updatedAt`.

    Examples:
        >>> saved = {"leadId": "a", "normalizedAt": 9, "updatedAt": 9,
        ...          "normalizationMeta": {"promptVersion": "v1"}, "normalizationPrevious": {}}
        >>> rollback_changes(saved, "v1")
        RollbackChanges(restore=[], remove=('normalizedData', 'normalizedAt', 'normalizationMeta', 'normalizationPrevious', 'updatedAt'))
        >>> rollback_changes(saved, "v2") is None
        True
    """
    if _version_of(item) != prompt_version:
        return None
    previous = item.get(NORMALIZATION_PREVIOUS)
    if not isinstance(previous, Mapping):
        return RollbackChanges(restore={}, remove=_LEGACY_REMOVED)
    restore: dict[str, Any] = {}
    remove: list[str] = []
    names: tuple[str, ...] = _RESTORED
    if (
        UPDATED_AT in item
        and NORMALIZED_AT in item
        and same_value(item[UPDATED_AT], item[NORMALIZED_AT])
    ):
        names = (*names, UPDATED_AT)
    for name in names:
        if name in previous:
            restore[name] = copy.deepcopy(previous[name])
        else:
            remove.append(name)
    return RollbackChanges(restore=restore, remove=tuple(remove))


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


BATCH_JOB_ID: Final = "batch-inference-job"
"""The config-table key under which a store records the backfill's batch job in flight."""


@runtime_checkable
class RecordsBatchJob(Protocol):
    """A store that can record one batch job in flight beside its config (`llm-normalize backfill`).

    The job is recorded as opaque text (`llm_normalize.batch_inference.BatchJob.to_json`):
    ids, S3 locations and settings, never a field value.
    """

    def load_batch_job(self) -> str | None:
        """The batch job recorded, if any."""
        ...

    def record_batch_job(self, job: str | None, *, replace: bool = False) -> None:
        """Record `job` (`None` clears the record).

        Raises:
            BatchJobRecordedError: Another job is recorded already and `replace` is false.
        """
        ...


def batch_job_recorded(where: str, recorded: str) -> BatchJobRecordedError:
    """The error of a store asked to record a batch job over another one."""
    return BatchJobRecordedError(
        f"{where} already records a batch job in flight; collect it first (run "
        "`llm-normalize backfill` again) or clear it with `llm-normalize backfill --abandon`",
        recorded=recorded,
    )


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

    def count_due(self, *, now_ms: int, ttl_days: float, force: bool = False) -> int:
        """How many leads `iter_due` would stream without a `limit`, counted without reading them.

        For a progress bar's total before a run, and for what a run left due after it (count
        again with the run's `now_ms`). A snapshot: leads written meanwhile may change it.
        """
        ...

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        """Write `update` beside the lead's originals, if it is unchanged since it was read.

        Writes `update.attributes_for(lead)` (the four attributes and the previous state)
        only if the lead exists, its `updatedAt` is the one read and every attribute in
        `update.watched` holds exactly the value read: `"saved"`; else `"conflict"`, or
        `"missing"` for a deleted lead, which is never re-created.
        """
        ...

    def rollback(self, prompt_version: str) -> int:
        """Undo a prompt version: restore every lead it saved last to the state before it.

        Each lead whose `normalizationMeta.promptVersion` is `prompt_version` gets the
        changes of `rollback_changes`: `normalizedData`, `normalizedAt`,
        `normalizationMeta`, `normalizationPrevious` and (unless the lead was edited since
        the save) `updatedAt` as they were before the version's first save, absent if they
        were absent, so a lead never normalized before is due again and exactly as
        imported. A lead changed or deleted meanwhile is left alone and not counted.
        Returns how many leads were rolled back.
        """
        ...

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace whole items (the import command); each needs a `leadId`.

        SQLite and memory write all or nothing. DynamoDB writes batch after batch: when a
        batch fails after others were written it raises `PartialWriteError`, whose
        `written` and `failed` list the lead ids; importing the same items again is safe.
        """
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
