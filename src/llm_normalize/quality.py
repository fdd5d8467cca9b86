"""The quality report: what normalization did to a store, with the statistics to trust it.

`quality_report(store_or_items)` reads normalized leads (the items `LeadStore.scan()` yields,
a `LeadStore` itself, or `NormalizedRecord`s) and measures, per field:

- coverage: the share of non-empty values normalized without a review flag, and the
  improvement rate: the share changed by normalization, each with a 95% Wilson score
  interval (it stays inside [0, 1] and behaves near 0% and 100%, where the normal
  approximation does not);
- distinct values before and after, the share decided by the rules, the model and the
  cache, guard rejections and other flags, empty values, and the top mappings;
- anomalies: a rate outside its expected band (z-score against the nearest bound), a rate
  that drifted from a previous report (two-proportion z-test), and normalized values that
  change when the post-processors are applied again (the "double dots" class of bug,
  caught directly by the idempotence probe).

The report also holds a reproducible spot-check sample (5% by default, chosen by a seeded
hash of the lead id, so the same leads come back whatever the scan order).
Field values appear only in the spot-check sample, the top mappings and the idempotence
probe's examples; `include_values=False` leaves all three out.
Anomaly messages never contain a value, so they are safe to log.

Examples:
    >>> report = quality_report(store)  # doctest: +SKIP
    >>> report.has_anomalies  # doctest: +SKIP
    False
    >>> Path("report.html").write_text(report.to_html())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from llm_normalize._names import field_key
from llm_normalize._version import __version__
from llm_normalize.postprocessors.registry import PostProcessorRegistry, default_registry
from llm_normalize.stores.base import LEAD_ID, NORMALIZATION_META, NORMALIZED_DATA

if TYPE_CHECKING:
    # Not imported at run time: `llm_normalize.report` re-exports `quality_report`, and the
    # pipeline imports `llm_normalize.report`, so importing the pipeline here would be a cycle.
    from llm_normalize.pipeline import NormalizedRecord

__all__ = [
    "COLOMBIAN_BANDS",
    "Anomaly",
    "FieldQuality",
    "IdempotenceProbe",
    "Metric",
    "QualityReport",
    "Rate",
    "SpotCheck",
    "SpotCheckValue",
    "TopMapping",
    "drift_z",
    "quality_report",
    "wilson_interval",
    "z_against_band",
]

Metric: TypeAlias = Literal["coverage", "improvement"]
"""The rates a band or a drift test applies to."""

Band: TypeAlias = tuple[float, float]

Z_95: Final = 1.959963984540054
"""The two-sided 95% normal quantile."""

COLOMBIAN_BANDS: Final[Mapping[str, Mapping[Metric, Band]]] = {
    # Measured on examples/leads.jsonl with the rules alone, then widened: a healthy run of
    # messy Colombian form data lands well inside these.
    "nombres": {"coverage": (0.95, 1.0), "improvement": (0.2, 0.9)},
    "apellidos": {"coverage": (0.95, 1.0), "improvement": (0.2, 0.9)},
    "direccion": {"coverage": (0.8, 1.0), "improvement": (0.5, 1.0)},
    "ciudad": {"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
    "nivel_educativo": {"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
    "ocupacion_actual": {"coverage": (0.85, 1.0), "improvement": (0.2, 0.95)},
    "empresa": {"coverage": (0.85, 1.0), "improvement": (0.2, 0.9)},
}
"""Expected (low, high) bands of each rate, per field of the Colombian leads profile."""

_SOURCES: Final = ("rules", "llm", "cache")
_GUARD_FLAG: Final = "guard_rejected"
_MAX_SAMPLE: Final = 2_000
_MAX_PROBE_EXAMPLES: Final = 20


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of `successes` out of `n` (95% by default).

    With no observation the interval is the whole of [0, 1].

    Examples:
        >>> [round(x, 4) for x in wilson_interval(0, 10)]
        [0.0, 0.2775]
    """
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 and n the bounds are exactly 0 and 1; rounding would otherwise leave 1e-17.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return (low, high)


def z_against_band(successes: int, n: int, band: Band) -> float:
    """The z-score of an observed rate against an expected band; 0 inside it.

    Outside, the distance to the nearest bound in standard errors of that bound
    (negative below the band, positive above).
    """
    if n <= 0:
        return 0.0
    low, high = band
    p = successes / n
    if low <= p <= high:
        return 0.0
    bound = low if p < low else high
    variance = max(bound * (1 - bound), 1e-12) / n
    return (p - bound) / math.sqrt(variance)


def drift_z(successes: int, n: int, previous_successes: int, previous_n: int) -> float:
    """The two-proportion z-statistic of the current rate against a previous one.

    Positive when the rate went up; 0 when either side has no observation or the pooled
    rate is 0 or 1 (no variance, no evidence of change).
    """
    if n <= 0 or previous_n <= 0:
        return 0.0
    pooled = (successes + previous_successes) / (n + previous_n)
    variance = pooled * (1 - pooled) * (1 / n + 1 / previous_n)
    if variance <= 0:
        return 0.0
    return (successes / n - previous_successes / previous_n) / math.sqrt(variance)


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
        return _render_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (
            f"QualityReport(records={self.records}, fields={len(self.fields)}, "
            f"anomalies={len(self.anomalies)})"
        )


# --------------------------------------------------------------------------- collection


class _Tally:
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
        return self.values - self.empty


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _original(item: Mapping[str, Any], name: str) -> Any:
    if name in item:
        return item[name]
    key = field_key(name)
    for other, value in item.items():
        if other not in (NORMALIZED_DATA, NORMALIZATION_META) and field_key(other) == key:
            return value
    return None


def _as_item(record: NormalizedRecord) -> dict[str, Any]:
    return {
        **record.original,
        NORMALIZED_DATA: record.normalized,
        NORMALIZATION_META: {
            "source": record.sources,
            "flags": {name: list(flags) for name, flags in record.flags.items()},
        },
    }


def _is_record(entry: Any) -> bool:
    # A NormalizedRecord, recognised by shape (see the TYPE_CHECKING import above).
    return not isinstance(entry, Mapping) and all(
        hasattr(entry, name) for name in ("id", "original", "fields", "error")
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sample_key(seed: int, lead_id: str) -> float:
    digest = hashlib.blake2b(f"{seed}\x00{lead_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _items(source: Any) -> Iterable[Any]:
    scan = getattr(source, "scan", None)
    if callable(scan) and not isinstance(source, Mapping):
        result: Iterable[Any] = scan()
        return result
    result = source
    return result


def quality_report(
    source: Any,
    *,
    fields: Sequence[str] | None = None,
    sample_rate: float = 0.05,
    seed: int = 0,
    top_n: int = 10,
    bands: Mapping[str, Mapping[str, Band]] | None = None,
    previous: QualityReport | Mapping[str, Any] | str | None = None,
    idempotence_sample: int = 500,
    registry: PostProcessorRegistry | None = None,
    include_values: bool = True,
    z_threshold: float = 3.0,
) -> QualityReport:
    """Measure what normalization did, field by field, and flag what looks wrong.

    Args:
        source: A `LeadStore` (scanned), stored items (dicts with the originals,
            `normalizedData` and `normalizationMeta`), or `NormalizedRecord`s.
        fields: The fields to report (either spelling); default every normalized field.
        sample_rate: The share of leads in the spot-check sample (at most 2000 leads).
        seed: Chooses the spot-check sample and the probe's values, reproducibly.
        top_n: How many of the most frequent mappings to keep per field.
        bands: Expected (low, high) bands per field (either spelling) and metric
            (``"coverage"``, ``"improvement"``); default `COLOMBIAN_BANDS`.
        previous: The previous report of the same store (a `QualityReport`, its JSON
            text, or the parsed JSON), for the drift test.
        idempotence_sample: Distinct normalized values per field to re-apply the
            post-processors to (0 turns the probe off).
        registry: The post-processors to re-apply (default: `default_registry`).
        include_values: False leaves out every field value (sample, mappings, examples).
        z_threshold: The |z| above which a band or drift test is an anomaly.

    Raises:
        ValueError: `sample_rate` is outside [0, 1] or a count is negative.
    """
    if not 0.0 <= sample_rate <= 1.0:
        raise ValueError("sample_rate must be between 0 and 1")
    if top_n < 0 or idempotence_sample < 0:
        raise ValueError("top_n and idempotence_sample must not be negative")
    wanted = None if fields is None else {field_key(name) for name in fields}
    bands_by_key = {
        field_key(name): dict(metrics)
        for name, metrics in (COLOMBIAN_BANDS if bands is None else bands).items()
    }
    registry = default_registry if registry is None else registry

    tallies: dict[str, _Tally] = {}
    sample: list[tuple[float, SpotCheck]] = []
    records = normalized_records = failed = 0
    for position, entry in enumerate(_items(source)):
        records += 1
        if _is_record(entry):
            if entry.error is not None:
                failed += 1
                continue
            item = _as_item(entry)
            lead_id = entry.id
        else:
            item = entry
            lead_id = str(item.get(LEAD_ID, position))
        data = item.get(NORMALIZED_DATA)
        if not isinstance(data, Mapping):
            continue
        normalized_records += 1
        meta = item.get(NORMALIZATION_META)
        meta = _mapping(meta)
        meta_sources = _mapping(meta.get("source"))
        meta_flags = _mapping(meta.get("flags"))
        picked = include_values and sample_rate > 0 and _sample_key(seed, lead_id) < sample_rate
        spot: list[SpotCheckValue] = []
        for name, value in data.items():
            if wanted is not None and field_key(name) not in wanted:
                continue
            tally = tallies.get(name)
            if tally is None:
                tally = tallies[name] = _Tally(name)
            original = _original(item, name)
            source_name = meta_sources.get(name)
            flags = [str(flag) for flag in meta_flags.get(name) or ()]
            tally.values += 1
            if isinstance(source_name, str):
                tally.sources[source_name] += 1
            tally.flags.update(flags)
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
            if _is_empty(original):
                tally.empty += 1
                continue
            before = str(original)
            tally.before.add(before)
            if value is not None:
                tally.after.add(str(value))
            if value is not None and not flags:
                tally.covered += 1
            if value != original:
                tally.changed += 1
                if include_values and top_n and value is not None:
                    tally.mappings[(before, str(value))] += 1
        if picked:
            sample.append((_sample_key(seed, lead_id), SpotCheck(id=lead_id, values=spot)))

    previous_report = _previous(previous)
    anomalies: list[Anomaly] = []
    results: list[FieldQuality] = []
    for tally in tallies.values():
        field_bands = bands_by_key.get(field_key(tally.name), {})
        n = tally.n
        counts: dict[str, int] = {"coverage": tally.covered, "improvement": tally.changed}
        z: dict[str, float] = {}
        for metric, band in field_bands.items():
            if metric not in counts:
                continue
            z[metric] = score = z_against_band(counts[metric], n, band)
            if abs(score) > z_threshold:
                anomalies.append(
                    Anomaly(
                        field=tally.name,
                        kind="band",
                        metric=metric,
                        observed=counts[metric] / n,
                        expected=(band[0], band[1]),
                        z=score,
                        message=(
                            f"{tally.name}: {metric} {counts[metric] / n:.1%} of {n} is "
                            f"{abs(score):.1f} standard errors {'above' if score > 0 else 'below'} "
                            f"its expected band {band[0]:.0%}-{band[1]:.0%}"
                        ),
                    )
                )
        if previous_report is not None:
            anomalies.extend(_drift(tally, counts, previous_report, z_threshold))
        probe = _probe(tally, registry, idempotence_sample, seed, include_values)
        if probe.changed:
            anomalies.append(
                Anomaly(
                    field=tally.name,
                    kind="idempotence",
                    metric="idempotence",
                    observed=probe.changed / probe.checked,
                    expected=0.0,
                    z=float(probe.changed),
                    message=(
                        f"{tally.name}: {probe.changed} of {probe.checked} normalized values "
                        "change when the post-processors are applied again"
                    ),
                )
            )
        results.append(
            FieldQuality(
                field=tally.name,
                values=tally.values,
                empty=tally.empty,
                coverage=Rate.of(tally.covered, n),
                improvement=Rate.of(tally.changed, n),
                distinct_before=len(tally.before),
                distinct_after=len(tally.after),
                sources={name: tally.sources[name] for name in sorted(tally.sources)},
                flags=dict(sorted(tally.flags.items())),
                guard_rejections=tally.flags[_GUARD_FLAG],
                band={metric: (band[0], band[1]) for metric, band in field_bands.items()},
                z=z,
                top_mappings=[
                    TopMapping(original=original, normalized=normalized, count=count)
                    for (original, normalized), count in sorted(
                        tally.mappings.items(), key=lambda kv: (-kv[1], kv[0])
                    )[:top_n]
                ],
                idempotence=probe,
            )
        )
    # Idempotence failures first (a bug, certainly), then by |z|.
    anomalies.sort(key=lambda a: (a.kind != "idempotence", -abs(a.z)))
    sample.sort(key=lambda pair: pair[0])
    return QualityReport(
        created_at=datetime.now(UTC),
        records=records,
        records_normalized=normalized_records,
        records_failed=failed,
        fields=results,
        anomalies=anomalies,
        sample_rate=sample_rate,
        seed=seed,
        include_values=include_values,
        sample=[spot for _, spot in sample[:_MAX_SAMPLE]],
        z_threshold=z_threshold,
    )


def _previous(previous: QualityReport | Mapping[str, Any] | str | None) -> QualityReport | None:
    if previous is None or isinstance(previous, QualityReport):
        return previous
    if isinstance(previous, str):
        return QualityReport.from_json(previous)
    return QualityReport.model_validate(previous)


def _drift(
    tally: _Tally, counts: Mapping[str, int], previous: QualityReport, z_threshold: float
) -> list[Anomaly]:
    try:
        before = previous.field(tally.name)
    except KeyError:
        return []
    found: list[Anomaly] = []
    for metric, rate in (("coverage", before.coverage), ("improvement", before.improvement)):
        score = drift_z(counts[metric], tally.n, rate.successes, rate.n)
        if abs(score) > z_threshold:
            now = counts[metric] / tally.n
            found.append(
                Anomaly(
                    field=tally.name,
                    kind="drift",
                    metric=metric,
                    observed=now,
                    expected=rate.rate,
                    z=score,
                    message=(
                        f"{tally.name}: {metric} moved from {rate.rate:.1%} (n={rate.n}) to "
                        f"{now:.1%} (n={tally.n}), z={score:+.1f} against the previous report"
                    ),
                )
            )
    return found


def _probe(
    tally: _Tally,
    registry: PostProcessorRegistry,
    size: int,
    seed: int,
    include_values: bool,
) -> IdempotenceProbe:
    values = sorted(tally.after)
    if size < len(values):
        values = random.Random(f"{seed}:{tally.name}").sample(values, size)
    changed = 0
    examples: list[tuple[str, str]] = []
    for value in values:
        try:
            again = registry.apply(tally.name, value)
        except Exception:  # a user's post-processor that raises is also a failure to report
            again = "<raised>"
        if again != value:
            changed += 1
            if include_values and len(examples) < _MAX_PROBE_EXAMPLES:
                examples.append((value, str(again)))
    return IdempotenceProbe(checked=len(values), changed=changed, examples=examples)


# --------------------------------------------------------------------------- HTML

_CSS: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1180px;color:#1d2330;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde}
h3{font-size:15px;margin:12px 0 6px}.muted{color:#667}
.ok{background:#e8f6ec;border:1px solid #9bd3ab;padding:8px 12px;border-radius:6px}
.bad{background:#fdecec;border:1px solid #e59a9a;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}
th,td{border:1px solid #dde;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.changed td.after{background:#fff7d6}.field{border:1px solid #dde;border-radius:8px;
padding:4px 16px 12px;margin:16px 0}svg{max-width:100%;height:auto}.flag{color:#b3261e}
"""

_W: Final = 1000
_H: Final = 215
_BAR_X: Final = 150
_BAR_W: Final = 360


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _rate_rows(item: FieldQuality) -> str:
    parts: list[str] = []
    for row, (metric, rate) in enumerate(
        (("coverage", item.coverage), ("improvement", item.improvement))
    ):
        y = 30 + row * 42
        parts.append(f'<text x="0" y="{y + 14}">{_e(metric)}</text>')
        parts.append(
            f'<rect x="{_BAR_X}" y="{y}" width="{_BAR_W}" height="20" fill="#f1f2f6" stroke="#ccd"/>'
        )
        band = item.band.get(metric)
        if band is not None:
            bx = _BAR_X + band[0] * _BAR_W
            bw = max((band[1] - band[0]) * _BAR_W, 1)
            parts.append(
                f'<rect x="{bx:.1f}" y="{y - 4}" width="{bw:.1f}" height="28" fill="#2e7d32" '
                f'fill-opacity="0.15" stroke="#2e7d32" stroke-dasharray="3 2"><title>expected band '
                f"{_pct(band[0])} to {_pct(band[1])}</title></rect>"
            )
        z = item.z.get(metric, 0.0)
        colour = "#c62828" if z else "#1f5fbf"
        parts.append(
            f'<rect x="{_BAR_X}" y="{y + 4}" width="{rate.rate * _BAR_W:.1f}" height="12" '
            f'fill="{colour}"><title>{_pct(rate.rate)} ({rate.successes}/{rate.n})</title></rect>'
        )
        lo, hi = _BAR_X + rate.low * _BAR_W, _BAR_X + rate.high * _BAR_W
        parts.append(
            f'<path d="M{lo:.1f} {y + 10}H{hi:.1f}M{lo:.1f} {y + 3}V{y + 17}M{hi:.1f} {y + 3}V{y + 17}" '
            'stroke="#111" stroke-width="1.5" fill="none"/>'
        )
        ztext = ""
        if metric in item.z:
            ztext = f", z={z:+.1f} outside its band" if z else ", within its band"
        parts.append(
            f'<text x="{_BAR_X + _BAR_W + 8}" y="{y + 14}">{_pct(rate.rate)} '
            f"[{_pct(rate.low)}, {_pct(rate.high)}]{_e(ztext)}</text>"
        )
    parts.append(
        f'<text x="{_BAR_X}" y="16" class="muted" font-size="11">0%</text>'
        f'<text x="{_BAR_X + _BAR_W - 30}" y="16" font-size="11">100%</text>'
    )
    return "".join(parts)


def _distinct(item: FieldQuality, x0: int) -> str:
    top = max(item.distinct_before, item.distinct_after, 1)
    parts = [f'<text x="{x0}" y="16">distinct values</text>']
    for row, (label, count, colour) in enumerate(
        (("before", item.distinct_before, "#8d6e63"), ("after", item.distinct_after, "#1f5fbf"))
    ):
        y = 30 + row * 42
        width = count / top * 300
        parts.append(f'<text x="{x0}" y="{y + 14}">{label}</text>')
        parts.append(
            f'<rect x="{x0 + 50}" y="{y + 2}" width="{width:.1f}" height="16" fill="{colour}"/>'
        )
        parts.append(f'<text x="{x0 + 56 + width:.1f}" y="{y + 14}">{count}</text>')
    return "".join(parts)


def _shares(item: FieldQuality, x0: int) -> str:
    colours = {"rules": "#546e7a", "llm": "#7b1fa2", "cache": "#00897b"}
    parts = [f'<text x="{x0}" y="16">decided by</text>']
    x = float(x0)
    shares = item.source_shares()
    for name, share in shares.items():
        width = share * 400
        parts.append(
            f'<rect x="{x:.1f}" y="32" width="{width:.1f}" height="20" '
            f'fill="{colours.get(name, "#999")}"><title>{_e(name)} {_pct(share)}</title></rect>'
        )
        x += width
    for row, (name, share) in enumerate(shares.items()):
        parts.append(
            f'<rect x="{x0}" y="{62 + row * 16}" width="10" height="10" '
            f'fill="{colours.get(name, "#999")}"/><text x="{x0 + 14}" y="{71 + row * 16}" '
            f'font-size="12">{_e(name)} {_pct(share)} ({item.sources[name]})</text>'
        )
    if not shares:
        parts.append(f'<text x="{x0}" y="46" class="muted">no source recorded</text>')
    return "".join(parts)


def _svg(item: FieldQuality) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" font-family="system-ui,sans-serif" font-size="13">'
        f"<title>{_e(item.field)}: rates with 95% intervals and expected bands, distinct "
        f"values, sources</title>{_rate_rows(item)}"
        f'<g transform="translate(0,105)">{_distinct(item, 0)}</g>'
        f'<g transform="translate(520,105)">{_shares(item, 0)}</g></svg>'
    )


def _field_section(item: FieldQuality) -> str:
    flags = ", ".join(f"{_e(name)} {count}" for name, count in item.flags.items()) or "none"
    parts = [
        f'<section class="field" id="field-{_e(item.field)}"><h2>{_e(item.field)}</h2>',
        _svg(item),
        "<p>",
        f"{item.values} values, {item.empty} empty; {item.distinct_before} distinct before, "
        f"{item.distinct_after} after; guard rejections {item.guard_rejections}; flags: {flags}; "
        f"idempotence probe: {item.idempotence.changed} of {item.idempotence.checked} changed.",
        "</p>",
    ]
    if item.idempotence.examples:
        parts.append("<h3>Values that change when normalized again</h3><table>")
        parts.append("<tr><th>stored</th><th>normalized again</th></tr>")
        parts.extend(
            f"<tr><td>{_e(a)}</td><td>{_e(b)}</td></tr>" for a, b in item.idempotence.examples
        )
        parts.append("</table>")
    if item.top_mappings:
        parts.append("<h3>Most frequent changes</h3><table>")
        parts.append("<tr><th>original</th><th>normalized</th><th>count</th></tr>")
        parts.extend(
            f"<tr><td>{_e(m.original)}</td><td>{_e(m.normalized)}</td>"
            f'<td class="num">{m.count}</td></tr>'
            for m in item.top_mappings
        )
        parts.append("</table>")
    parts.append("</section>")
    return "".join(parts)


def _render_html(report: QualityReport) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>llm_normalize quality report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Normalization quality report</h1>",
        f'<p class="muted">{report.records} records read, {report.records_normalized} normalized, '
        f"{report.records_failed} failed; made {_e(report.created_at.isoformat(timespec='seconds'))} "
        f"by llm_normalize {_e(report.library_version)}; intervals are 95% Wilson score intervals; "
        f"anomaly threshold |z| &gt; {report.z_threshold:g}.</p>",
        "<h2>Anomalies</h2>",
    ]
    if report.anomalies:
        parts.append(f'<div class="bad"><strong>{len(report.anomalies)} anomalies</strong><ul>')
        parts.extend(f"<li>{_e(a.message)}</li>" for a in report.anomalies)
        parts.append("</ul></div>")
    else:
        parts.append('<div class="ok">No anomaly: every rate is within its band.</div>')
    parts.append("<h2>Overview</h2><table><tr><th>field</th><th>coverage</th>")
    parts.append("<th>improvement</th><th>distinct before → after</th><th>empty</th>")
    parts.append("<th>guard rejections</th><th>idempotence</th></tr>")
    for item in report.fields:
        parts.append(
            f'<tr><td><a href="#field-{_e(item.field)}">{_e(item.field)}</a></td>'
            f'<td class="num">{_pct(item.coverage.rate)} [{_pct(item.coverage.low)}, {_pct(item.coverage.high)}]</td>'
            f'<td class="num">{_pct(item.improvement.rate)} [{_pct(item.improvement.low)}, {_pct(item.improvement.high)}]</td>'
            f'<td class="num">{item.distinct_before} → {item.distinct_after}</td>'
            f'<td class="num">{item.empty}</td><td class="num">{item.guard_rejections}</td>'
            f'<td class="num">{item.idempotence.changed}/{item.idempotence.checked}</td></tr>'
        )
    parts.append("</table>")
    parts.extend(_field_section(item) for item in report.fields)
    parts.append("<h2>Spot-check sample</h2>")
    if not report.include_values:
        parts.append('<p class="muted">Values were left out of this report.</p>')
    else:
        parts.append(
            f'<p class="muted">{len(report.sample)} leads, sampled at {_pct(report.sample_rate)} '
            f"with seed {report.seed}; changed values are highlighted.</p>"
        )
        if report.sample:
            parts.append(
                "<table><tr><th>lead</th><th>field</th><th>original</th><th>normalized</th>"
                "<th>source</th><th>flags</th></tr>"
            )
            for spot in report.sample:
                for value in spot.values:
                    changed = ' class="changed"' if value.original != value.normalized else ""
                    parts.append(
                        f"<tr{changed}><td>{_e(spot.id)}</td><td>{_e(value.field)}</td>"
                        f"<td>{_e(value.original or '')}</td>"
                        f'<td class="after">{_e(value.normalized or "")}</td>'
                        f"<td>{_e(value.source or '')}</td>"
                        f'<td class="flag">{_e(" ".join(value.flags))}</td></tr>'
                    )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
