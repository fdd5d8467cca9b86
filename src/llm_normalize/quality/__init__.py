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

The package, one concept per module: `stats` (intervals and z-scores), `models` (the report's
pydantic models), `collect` (reading items, stores and records into per-field tallies),
`bands` (expected bands, taken from the profile's field specs), `history` (the previous
report and drift), `probe` (the idempotence probe), `report` (`quality_report`, which ties
them together) and `html` (the self-contained page).

Examples:
    >>> report = quality_report(store)  # doctest: +SKIP
    >>> report.has_anomalies  # doctest: +SKIP
    False
    >>> Path("report.html").write_text(report.to_html())  # doctest: +SKIP
"""

from __future__ import annotations

from llm_normalize.fields import Band, Metric
from llm_normalize.quality.bands import COLOMBIAN_BANDS
from llm_normalize.quality.models import (
    Anomaly,
    FieldQuality,
    IdempotenceProbe,
    QualityReport,
    Rate,
    SpotCheck,
    SpotCheckValue,
    TopMapping,
)
from llm_normalize.quality.report import quality_report
from llm_normalize.quality.stats import Z_95, drift_z, wilson_interval, z_against_band

__all__ = [
    "COLOMBIAN_BANDS",
    "Z_95",
    "Anomaly",
    "Band",
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
