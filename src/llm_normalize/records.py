"""What normalization produces: `FieldResult`, `NormalizedRecord`, and how it is stored.

This module is the one owner of the result types and of their stored shape:

- `Source` says who decided a value, the `FLAG_*` constants are the review flags;
- `NormalizedRecord` holds one record's results beside its untouched original;
- the attribute names of the seed's tables (`leadId`, `normalizedData`, `normalizedAt`,
  `updatedAt`), of the audit attribute, `normalizationMeta`, which only
  `normalization_meta` builds, and of `normalizationPrevious`, what a rollback restores.

Nothing here imports the rest of the package: every other layer reads these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "FLAGS",
    "FLAG_GUARD_REJECTED",
    "FLAG_MODEL_FAILED",
    "FLAG_NOT_CONFIDENT",
    "FLAG_NOT_SENT",
    "FLAG_UNSUPPORTED_TYPE",
    "LEAD_ID",
    "NORMALIZATION_META",
    "NORMALIZATION_PREVIOUS",
    "NORMALIZED_AT",
    "NORMALIZED_DATA",
    "SOURCES",
    "UPDATED_AT",
    "FieldResult",
    "NormalizedRecord",
    "RunStamp",
    "Source",
    "normalization_meta",
]

Source: TypeAlias = Literal["rules", "llm", "cache"]
"""Who decided a normalized value."""

SOURCES: Final[tuple[Source, ...]] = ("rules", "llm", "cache")
"""Every `Source`, in the order reports list them."""

FLAG_NOT_CONFIDENT: Final = "not_confident"
"""The rules only guessed, and no model decided instead."""
FLAG_UNSUPPORTED_TYPE: Final = "unsupported_type"
"""The value was a list or an object where text was expected."""
FLAG_GUARD_REJECTED: Final = "guard_rejected"
"""The model's answer failed the guard; the rules' value was kept."""
FLAG_MODEL_FAILED: Final = "model_failed"
"""The model gave no usable answer (an error, a missing or cut-off item)."""
FLAG_NOT_SENT: Final = "not_sent"
"""The budget or the deadline kept the value from the model."""

FLAGS: Final = (
    FLAG_NOT_CONFIDENT,
    FLAG_UNSUPPORTED_TYPE,
    FLAG_GUARD_REJECTED,
    FLAG_MODEL_FAILED,
    FLAG_NOT_SENT,
)
"""Every review flag a `FieldResult` may carry."""

LEAD_ID: Final = "leadId"
"""The key attribute of the leads table, as in the seed."""
NORMALIZED_DATA: Final = "normalizedData"
"""The attribute holding the normalized value of each field."""
NORMALIZED_AT: Final = "normalizedAt"
"""When a lead was normalized, in epoch milliseconds."""
UPDATED_AT: Final = "updatedAt"
"""When a lead last changed, in epoch milliseconds (a save writes it too, as the seed does)."""
NORMALIZATION_META: Final = "normalizationMeta"
"""The audit attribute: prompt version, model id, per-field source and flags."""
NORMALIZATION_PREVIOUS: Final = "normalizationPrevious"
"""What a save replaced (`normalizedData`, `normalizedAt`, `updatedAt`, `normalizationMeta`
as they were, earlier states nested), so that a rollback restores it exactly."""


@dataclass(frozen=True, slots=True)
class FieldResult:
    """The normalized value of one field of one record, and how it was decided.

    Attributes:
        value: The normalized value (`None` when the original was `None` or unusable).
        source: Who decided it: the rules, the model (`llm`) or the value cache.
        confident: Whether the deciding step trusted its answer.
        reason: A PII-free tag from the post-processor (e.g. ``"fuzzy"``, ``"unknown"``).
        flags: Review flags: ``"not_confident"`` (the rules guessed), ``"guard_rejected"``
            (the model's answer failed the guard), ``"model_failed"`` (no usable answer),
            ``"not_sent"`` (budget or deadline reached), ``"unsupported_type"``.
    """

    value: str | None
    source: Source
    confident: bool
    reason: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
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

    def __repr__(self) -> str:
        # Short, and free of field values: the original is personal data.
        flagged = sorted(self.flags)
        return (
            f"NormalizedRecord(id={self.id!r}, fields={len(self.fields)}, "
            f"changed={list(self.changed)!r}, flagged={flagged!r}, error={self.error!r})"
        )

    def _repr_html_(self) -> str:
        # `display` is a leaf: it reads these types only under TYPE_CHECKING.
        from llm_normalize.display import record_html

        return record_html(self)

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


@dataclass(frozen=True, slots=True)
class RunStamp:
    """What a stored `normalizationMeta` says about the run that wrote it.

    Attributes:
        prompt_version: The prompt version (`rules-<version>` without a model); rollback
            removes what one version wrote.
        model_id: The model that decided, or `None` for a rules-only run.
    """

    prompt_version: str
    model_id: str | None


def normalization_meta(record: NormalizedRecord, run: RunStamp | None = None) -> dict[str, Any]:
    """The `normalizationMeta` of `record`: PII-free, never a field value.

    With `run` (a store's save), it names the prompt version and the model and always holds
    `flags`; without (a file's line), it holds `flags` and `error` only when there are any.
    """
    flags = {name: list(names) for name, names in record.flags.items()}
    if run is not None:
        return {
            "promptVersion": run.prompt_version,
            "modelId": run.model_id,
            "source": record.sources,
            "flags": flags,
        }
    meta: dict[str, Any] = {"source": record.sources}
    if flags:
        meta["flags"] = flags
    if record.error is not None:
        meta["error"] = record.error
    return meta
