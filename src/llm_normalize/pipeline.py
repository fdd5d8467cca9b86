"""The `Normalizer`: records in, `NormalizedRecord`s out, originals untouched.

This release decides every value with the rules (the registry's post-processors).
Each field's outcome says whether the rules were confident; the model layer will send
only the non-confident ones to a model. Distinct `(field, value)` pairs are computed once
per run, because form data repeats itself (cities, levels, companies).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.fields import COLOMBIAN_LEADS, Profile
from llm_normalize.postprocessors.base import Outcome
from llm_normalize.postprocessors.registry import PostProcessorRegistry, default_registry

__all__ = ["FieldResult", "NormalizedRecord", "Normalizer", "RunSummary", "Source"]

logger = logging.getLogger(__name__)

Source: TypeAlias = Literal["rules", "llm", "cache"]
"""Who decided a normalized value."""

FLAG_NOT_CONFIDENT: Final = "not_confident"
FLAG_UNSUPPORTED_TYPE: Final = "unsupported_type"

# Distinct values remembered per run; past this the memo starts over (memory stays bounded
# on a 100k-record file whose free-text fields are mostly distinct).
_MEMO_LIMIT: Final = 65_536


@dataclass(frozen=True, slots=True)
class FieldResult:
    """The normalized value of one field of one record, and how it was decided.

    Attributes:
        value: The normalized value (`None` when the original was `None` or unusable).
        source: Who decided it (`rules` in this release).
        confident: Whether the deciding step trusted its answer.
        reason: A PII-free tag from the post-processor (e.g. ``"fuzzy"``, ``"unknown"``).
        flags: Review flags, e.g. ``"not_confident"``, ``"unsupported_type"``.
    """

    value: str | None
    source: Source
    confident: bool
    reason: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NormalizedRecord:
    """One record after normalization, beside its untouched original.

    Attributes:
        id: The record id (the config's `id_field`, else its position in the input).
        original: A read-only view of the record as it came in.
        fields: The result of each normalized field.
        error: Why the whole record could not be normalized, if it could not
            (PII-free: names the problem, never a value).
    """

    id: str
    original: Mapping[str, Any]
    fields: Mapping[str, FieldResult] = field(default_factory=dict)
    error: str | None = None

    @property
    def normalized(self) -> dict[str, str | None]:
        """The normalized value of each field, the seed's `normalizedData`."""
        return {name: result.value for name, result in self.fields.items()}

    @property
    def sources(self) -> dict[str, Source]:
        """Who decided each field."""
        return {name: result.source for name, result in self.fields.items()}

    @property
    def flags(self) -> dict[str, tuple[str, ...]]:
        """The review flags of the fields that have any."""
        return {name: result.flags for name, result in self.fields.items() if result.flags}

    @property
    def changed(self) -> tuple[str, ...]:
        """The fields whose normalized value differs from the original."""
        return tuple(
            name
            for name, result in self.fields.items()
            if result.value is not None and result.value != self.original.get(name)
        )


@dataclass(slots=True)
class RunSummary:
    """Counts over a set of normalized records (ids and counts only, never values)."""

    records: int = 0
    record_errors: int = 0
    fields: int = 0
    changed: int = 0
    not_confident: int = 0
    unsupported: int = 0
    per_field_not_confident: dict[str, int] = field(default_factory=dict)

    def add(self, record: NormalizedRecord) -> None:
        """Count one record."""
        self.records += 1
        if record.error is not None:
            self.record_errors += 1
            return
        self.fields += len(record.fields)
        self.changed += len(record.changed)
        for name, result in record.fields.items():
            if FLAG_UNSUPPORTED_TYPE in result.flags:
                self.unsupported += 1
            elif not result.confident:
                self.not_confident += 1
                self.per_field_not_confident[name] = self.per_field_not_confident.get(name, 0) + 1


class Normalizer:
    """Normalize records field by field: rules first, originals never touched.

    Args:
        backend: The model backend. This release runs the rules alone, so it must be `None`.
        config: Run settings (default: `NormalizationConfig()`); `fields_to_normalize` picks
            the fields and `id_field` the record id.
        registry: The post-processor chains (default: `default_registry`, or one built from
            `profile` when only a profile is given).
        cache: A value cache; not used by the rules-only pipeline, so it must be `None`.
        profile: The field specs (default: `COLOMBIAN_LEADS`).

    Raises:
        ConfigurationError: A field to normalize is neither in the profile nor in the
            registry, or a backend or cache was given to this rules-only release.

    Example:
        >>> [record] = Normalizer().normalize([{"leadId": "1", "nombres": "JUAN CARLOS"}])
        >>> record.normalized["nombres"]
        'Juan Carlos'
    """

    def __init__(
        self,
        backend: object | None = None,
        config: NormalizationConfig | None = None,
        registry: PostProcessorRegistry | None = None,
        cache: object | None = None,
        *,
        profile: Profile | None = None,
    ) -> None:
        if backend is not None:
            raise ConfigurationError(
                "this release normalizes with the rules alone; pass backend=None "
                "(model backends are not available yet)"
            )
        if cache is not None:
            raise ConfigurationError("the rules-only pipeline uses no value cache; pass cache=None")
        self.config = config or NormalizationConfig()
        self.profile = profile or COLOMBIAN_LEADS
        self.registry = registry or default_registry
        known = set(self.profile.names) | set(self.registry.fields)
        for name in self.config.fields_to_normalize:
            if name not in self.profile and name not in self.registry:
                raise UnknownFieldError(name, known)
        self._memo: dict[tuple[str, str], Outcome] = {}

    def __repr__(self) -> str:
        return f"Normalizer(fields={self.config.fields_to_normalize!r}, backend=None)"

    def normalize(self, records: Iterable[Mapping[str, Any]]) -> list[NormalizedRecord]:
        """Normalize records with the rules; the input mappings are never modified.

        A record that is not a mapping becomes a `NormalizedRecord` with an `error`, and the
        others go on.
        """
        return list(self.iter_normalize(records))

    def iter_normalize(self, records: Iterable[Mapping[str, Any]]) -> Iterator[NormalizedRecord]:
        """Like `normalize`, one record at a time, for inputs too large to hold in memory."""
        for position, record in enumerate(records):
            yield self.normalize_one(record, position=position)

    def normalize_one(self, record: Mapping[str, Any], *, position: int = 0) -> NormalizedRecord:
        """Normalize one record (see `normalize`)."""
        if not isinstance(record, Mapping):
            return NormalizedRecord(
                id=f"#{position}",
                original=MappingProxyType({}),
                error=f"expected a mapping, got {type(record).__name__}",
            )
        original = MappingProxyType(dict(record))
        record_id = original.get(self.config.id_field)
        rid = (
            str(record_id)
            if isinstance(record_id, str | int) and record_id != ""
            else f"#{position}"
        )
        results: dict[str, FieldResult] = {}
        for name in self.config.fields_to_normalize:
            if name in original:
                results[name] = self._normalize_value(name, original[name])
        return NormalizedRecord(id=rid, original=original, fields=results)

    def _normalize_value(self, name: str, raw: Any) -> FieldResult:
        if raw is None:
            return FieldResult(None, source="rules", confident=True, reason="empty")
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            # A list or an object where text was expected: say so, never guess.
            return FieldResult(
                None,
                source="rules",
                confident=False,
                reason="unsupported_type",
                flags=(FLAG_UNSUPPORTED_TYPE,),
            )
        text = raw if isinstance(raw, str) else str(raw)
        key = (name, text)
        outcome = self._memo.get(key)
        if outcome is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            outcome = self.registry.assess(name, text)
            self._memo[key] = outcome
        return FieldResult(
            outcome.value,
            source="rules",
            confident=outcome.confident,
            reason=outcome.reason,
            flags=() if outcome.confident else (FLAG_NOT_CONFIDENT,),
        )
