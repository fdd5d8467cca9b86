"""The quality report's data: `QualityReport` and the figures it holds, as pydantic models.

Every model is frozen and round-trips through JSON (`QualityReport.to_json` / `from_json`), so
a report can be kept as the next report's baseline (see `llm_normalize.quality.history`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from llm_normalize._names import field_key
from llm_normalize._version import __version__
from llm_normalize.quality.html import render_html
from llm_normalize.quality.stats import wilson_interval

__all__ = [
    "Anomaly",
    "FieldQuality",
    "IdempotenceProbe",
    "QualityReport",
    "Rate",
    "SpotCheck",
    "SpotCheckValue",
    "TopMapping",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


class Rate(_Model):
    """A proportion with its 95% Wilson score interval.

    Attributes:
        successes: The count.
        n: Out of how many.
        rate: `successes / n` (0 when `n` is 0).
        low: The interval's lower end.
        high: The interval's upper end.
    """

    successes: int
    n: int
    rate: float
    low: float
    high: float

    @classmethod
    def of(cls, successes: int, n: int) -> Rate:
        """Build a rate and its interval from counts."""
        low, high = wilson_interval(successes, n)
        return cls(successes=successes, n=n, rate=successes / n if n else 0.0, low=low, high=high)


class Anomaly(_Model):
    """Something in the report that needs a person's attention. Never holds a value.

    Attributes:
        field: The field.
        kind: ``"band"`` (a rate outside its expected band), ``"drift"`` (a rate changed
            from the previous report) or ``"idempotence"`` (values the post-processors change
            again).
        metric: The rate concerned (``"coverage"``, ``"improvement"``), or ``"idempotence"``.
        observed: The observed rate.
        expected: The band (``"band"``), the previous rate (``"drift"``) or 0.
        z: The z-score (for ``"idempotence"``, the count of values that changed).
        message: A one-line, PII-free explanation.
    """

    field: str
    kind: Literal["band", "drift", "idempotence"]
    metric: str
    observed: float
    expected: tuple[float, float] | float
    z: float
    message: str


class TopMapping(_Model):
    """One frequent original -> normalized mapping (holds values).

    Attributes:
        original: The value as typed.
        normalized: What normalization made of it.
        count: How many times.
    """

    original: str
    normalized: str
    count: int


class IdempotenceProbe(_Model):
    """The post-processors re-applied to a sample of a field's normalized values.

    Attributes:
        checked: Distinct normalized values re-applied.
        changed: Of those, how many came out different.
        examples: Up to 20 ``(stored, re-applied)`` pairs (values; empty without values).
    """

    checked: int = 0
    changed: int = 0
    examples: list[tuple[str, str]] = []


class FieldQuality(_Model):
    """The figures of one field.

    Attributes:
        field: The field name, as stored.
        values: Records that carry the field in `normalizedData`.
        empty: Of those, originals missing or blank (left out of the rates).
        coverage: Non-empty values normalized with a value and no review flag.
        improvement: Non-empty values that normalization changed.
        distinct_before: Distinct non-empty originals.
        distinct_after: Distinct normalized values of those.
        sources: Values decided by each source (rules, llm, cache).
        flags: Review flags by name (``guard_rejected``, ``not_confident``, ...).
        guard_rejections: Values whose model answer the guard rejected.
        band: The expected bands, by metric.
        z: The z-score of each rate against its band.
        top_mappings: The most frequent changes, original -> normalized (values).
        idempotence: The idempotence probe.
    """

    field: str
    values: int
    empty: int
    coverage: Rate
    improvement: Rate
    distinct_before: int
    distinct_after: int
    sources: dict[str, int]
    flags: dict[str, int]
    guard_rejections: int
    band: dict[str, tuple[float, float]] = {}
    z: dict[str, float] = {}
    top_mappings: list[TopMapping] = []
    idempotence: IdempotenceProbe = IdempotenceProbe()

    def source_shares(self) -> dict[str, float]:
        """The share of values each source decided."""
        total = sum(self.sources.values())
        return {name: count / total for name, count in self.sources.items()} if total else {}


class SpotCheckValue(_Model):
    """One field of a spot-checked lead: original and normalized side by side (values).

    Attributes:
        field: The field.
        original: The value as typed (`None` when absent).
        normalized: The normalized value.
        source: Who decided it.
        flags: Its review flags.
    """

    field: str
    original: str | None
    normalized: str | None
    source: str | None = None
    flags: list[str] = []


class SpotCheck(_Model):
    """One lead of the spot-check sample.

    Attributes:
        id: The lead id (the record's position when it has none).
        values: Its normalized fields, original beside normalized.
    """

    id: str
    values: list[SpotCheckValue]


class QualityReport(_Model):
    """The quality report of a store or of a run's records.

    Attributes:
        created_at: When it was made (UTC).
        library_version: The version of llm_normalize that made it.
        records: Records read.
        records_normalized: Of those, records with normalized data.
        records_failed: Records whose normalization failed (from `NormalizedRecord.error`).
        fields: The figures of each field.
        anomalies: What needs attention, most severe first.
        sample_rate: The spot-check sampling rate.
        seed: The spot-check and probe seed.
        include_values: Whether values (sample, mappings, probe examples) are included.
        sample: The spot-check sample.
        z_threshold: The |z| above which a rate is an anomaly.
    """

    created_at: datetime
    library_version: str = __version__
    records: int
    records_normalized: int
    records_failed: int = 0
    fields: list[FieldQuality]
    anomalies: list[Anomaly]
    sample_rate: float
    seed: int
    include_values: bool = True
    sample: list[SpotCheck] = []
    z_threshold: float = 3.0

    @property
    def has_anomalies(self) -> bool:
        """Whether anything needs attention (`report --check` exits non-zero then)."""
        return bool(self.anomalies)

    def field(self, name: str) -> FieldQuality:
        """The figures of one field, by its name in either spelling.

        Raises:
            KeyError: The report has no such field.
        """
        for item in self.fields:
            if field_key(item.field) == field_key(name):
                return item
        raise KeyError(name)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON, for pipelines and as the `previous` of the next report."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> QualityReport:
        """Read a report written by `to_json`."""
        return cls.model_validate_json(text)

    def without_values(self) -> QualityReport:
        """A copy with every field value removed (sample, mappings, probe examples)."""
        fields = [
            item.model_copy(
                update={
                    "top_mappings": [],
                    "idempotence": item.idempotence.model_copy(update={"examples": []}),
                }
            )
            for item in self.fields
        ]
        return self.model_copy(update={"fields": fields, "sample": [], "include_values": False})

    def to_html(self) -> str:
        """One self-contained HTML page: no script, no network, inline CSS and SVG charts."""
        return render_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (
            f"QualityReport(records={self.records}, fields={len(self.fields)}, "
            f"anomalies={len(self.anomalies)})"
        )
