"""Reading normalized leads into per-field tallies and the spot-check sample, in one pass.

The quality report reads what normalization stored, never the `Normalizer`: the items a
`LeadStore` scans (the originals beside `normalizedData` and `normalizationMeta`), or
`NormalizedRecord`s, turned into the same item by `records.normalization_meta`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from llm_normalize._names import field_key
from llm_normalize.quality.models import SpotCheck, SpotCheckValue
from llm_normalize.records import (
    LEAD_ID,
    NORMALIZATION_META,
    NORMALIZATION_PREVIOUS,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
    NormalizedRecord,
    normalization_meta,
)

__all__ = ["Collection", "Tally", "collect"]


class Tally:
    """What one pass over the records accumulates for one field."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values = 0
        self.empty = 0
        self.covered = 0
        self.changed = 0
        self.before: set[str] = set()
        self.after: set[str] = set()
        self.sources: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()
        self.mappings: Counter[tuple[str, str]] = Counter()

    @property
    def n(self) -> int:
        """The non-empty values: the denominator of every rate."""
        return self.values - self.empty

    @property
    def counts(self) -> dict[str, int]:
        """The successes of each rate (``"coverage"``, ``"improvement"``)."""
        return {"coverage": self.covered, "improvement": self.changed}

    def add(
        self, original: Any, value: Any, source: Any, flags: Sequence[str], keep_mapping: bool
    ) -> None:
        """Count one stored value of the field beside its original."""
        self.values += 1
        if isinstance(source, str):
            self.sources[source] += 1
        self.flags.update(flags)
        if _is_empty(original):
            self.empty += 1
            return
        before = str(original)
        self.before.add(before)
        if value is not None:
            self.after.add(str(value))
        if value is not None and not flags:
            self.covered += 1
        if value != original:
            self.changed += 1
            if keep_mapping and value is not None:
                self.mappings[(before, str(value))] += 1


@dataclass
class Collection:
    """What one pass over the records gathers.

    Attributes:
        tallies: The tally of each field, in the order the fields were first seen.
        sample: The spot-checked leads, each with its sampling key.
        records: Records read.
        normalized: Of those, records with normalized data.
        failed: Records whose normalization failed (`NormalizedRecord.error`).
    """

    tallies: dict[str, Tally] = field(default_factory=dict)
    sample: list[tuple[float, SpotCheck]] = field(default_factory=list)
    records: int = 0
    normalized: int = 0
    failed: int = 0


def collect(
    source: Any,
    fields: Sequence[str] | None,
    sample_rate: float,
    seed: int,
    include_values: bool,
    top_n: int,
) -> Collection:
    """Read `source` (a `LeadStore`, stored items or `NormalizedRecord`s) once.

    Args:
        source: What to read; a store is read through its `scan()`.
        fields: The fields to count (either spelling); `None` for every normalized field.
        sample_rate: The share of leads to spot-check, chosen by a seeded hash of the lead id.
        seed: The sampling seed.
        include_values: False samples no lead and counts no mapping (they hold values).
        top_n: How many mappings the report keeps per field (0: count none).
    """
    keep_mappings = include_values and top_n > 0
    wanted = None if fields is None else {field_key(name) for name in fields}
    found = Collection()
    for position, entry in enumerate(_items(source)):
        found.records += 1
        if isinstance(entry, NormalizedRecord):
            if entry.error is not None:
                found.failed += 1
                continue
            item: Mapping[str, Any] = _as_item(entry)
            lead_id = entry.id
        else:
            item = entry
            lead_id = str(item.get(LEAD_ID, position))
        data = item.get(NORMALIZED_DATA)
        if not isinstance(data, Mapping):
            continue
        found.normalized += 1
        picked = include_values and sample_rate > 0 and _sample_key(seed, lead_id) < sample_rate
        spot = _read(found.tallies, item, data, wanted, picked, keep_mappings)
        if picked:
            found.sample.append((_sample_key(seed, lead_id), SpotCheck(id=lead_id, values=spot)))
    return found


def _read(
    tallies: dict[str, Tally],
    item: Mapping[str, Any],
    data: Mapping[str, Any],
    wanted: set[str] | None,
    picked: bool,
    keep_mappings: bool,
) -> list[SpotCheckValue]:
    """Count the normalized fields of one item; its spot-check values when `picked`."""
    meta = _mapping(item.get(NORMALIZATION_META))
    sources = _mapping(meta.get("source"))
    flags_by_field = _mapping(meta.get("flags"))  # absent when no field has a flag
    spot: list[SpotCheckValue] = []
    for name, value in data.items():
        if wanted is not None and field_key(name) not in wanted:
            continue
        tally = tallies.get(name)
        if tally is None:
            tally = tallies[name] = Tally(name)
        original = _original(item, name)
        source_name = sources.get(name)
        flags = [str(flag) for flag in flags_by_field.get(name) or ()]
        tally.add(original, value, source_name, flags, keep_mappings)
        if picked:
            spot.append(
                SpotCheckValue(
                    field=name,
                    original=None if original is None else str(original),
                    normalized=None if value is None else str(value),
                    source=source_name if isinstance(source_name, str) else None,
                    flags=flags,
                )
            )
    return spot


def _items(source: Any) -> Iterable[Any]:
    scan = getattr(source, "scan", None)
    if callable(scan) and not isinstance(source, Mapping):
        result: Iterable[Any] = scan()
        return result
    result = source
    return result


def _as_item(record: NormalizedRecord) -> dict[str, Any]:
    """A record as a store would hold it: the original, its normalized data and meta."""
    return {
        **record.original,
        NORMALIZED_DATA: record.normalized,
        NORMALIZATION_META: normalization_meta(record),
    }


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# What normalization writes: never taken for an original attribute.
_OURS: Final = frozenset(
    {NORMALIZED_DATA, NORMALIZATION_META, NORMALIZED_AT, UPDATED_AT, NORMALIZATION_PREVIOUS}
)


def _original(item: Mapping[str, Any], name: str) -> Any:
    if name in item:
        return item[name]
    key = field_key(name)
    for other, value in item.items():
        if other not in _OURS and field_key(other) == key:
            return value
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sample_key(seed: int, lead_id: str) -> float:
    digest = hashlib.blake2b(f"{seed}\x00{lead_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
