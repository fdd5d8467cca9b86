"""`quality_report`: read normalized leads once, then judge each field's figures.

Reading is `collect`'s; each field is then tested against its expected bands (`bands`), the
previous report (`history`) and the idempotence probe (`probe`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from llm_normalize._names import field_key
from llm_normalize.fields import Band, Profile
from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS, default_registry
from llm_normalize.quality.bands import band_test, bands_by_key
from llm_normalize.quality.collect import Collection, Tally, collect
from llm_normalize.quality.history import as_previous, drift_anomalies
from llm_normalize.quality.models import Anomaly, FieldQuality, QualityReport, Rate, TopMapping
from llm_normalize.quality.probe import idempotence_anomaly, idempotence_probe
from llm_normalize.records import FLAG_GUARD_REJECTED

__all__ = ["quality_report"]

_MAX_SAMPLE: Final = 2_000


def quality_report(
    source: Any,
    *,
    fields: Sequence[str] | None = None,
    sample_rate: float = 0.05,
    seed: int = 0,
    top_n: int = 10,
    bands: Mapping[str, Mapping[str, Band]] | None = None,
    profile: Profile = COLOMBIAN_LEADS,
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
            (``"coverage"``, ``"improvement"``); default the bands of `profile`.
        profile: The field specs whose `bands` are the default (the Colombian leads).
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
    by_key = bands_by_key(profile.bands if bands is None else bands)
    found = collect(source, fields, sample_rate, seed, include_values, top_n)
    judge = _Judge(
        bands=by_key,
        previous=as_previous(previous),
        registry=default_registry if registry is None else registry,
        probe_size=idempotence_sample,
        seed=seed,
        include_values=include_values,
        top_n=top_n,
        z_threshold=z_threshold,
    )
    return judge.report(found, sample_rate)


@dataclass(frozen=True, slots=True)
class _Judge:
    """Turns each field's tally into its figures and anomalies, with one report's settings."""

    bands: Mapping[str, Mapping[str, Band]]
    previous: QualityReport | None
    registry: PostProcessorRegistry
    probe_size: int
    seed: int
    include_values: bool
    top_n: int
    z_threshold: float

    def report(self, found: Collection, sample_rate: float) -> QualityReport:
        """The report of what `collect` found."""
        fields: list[FieldQuality] = []
        anomalies: list[Anomaly] = []
        for tally in found.tallies.values():
            figures, field_anomalies = self.field(tally)
            fields.append(figures)
            anomalies.extend(field_anomalies)
        # Idempotence failures first (a bug, certainly), then by |z|.
        anomalies.sort(key=lambda a: (a.kind != "idempotence", -abs(a.z)))
        found.sample.sort(key=lambda pair: pair[0])
        return QualityReport(
            created_at=datetime.now(UTC),
            records=found.records,
            records_normalized=found.normalized,
            records_failed=found.failed,
            fields=fields,
            anomalies=anomalies,
            sample_rate=sample_rate,
            seed=self.seed,
            include_values=self.include_values,
            sample=[spot for _, spot in found.sample[:_MAX_SAMPLE]],
            z_threshold=self.z_threshold,
        )

    def field(self, tally: Tally) -> tuple[FieldQuality, list[Anomaly]]:
        """One field's figures, and its anomalies: band, then drift, then idempotence."""
        name, n, counts = tally.name, tally.n, tally.counts
        field_bands = self.bands.get(field_key(name), {})
        z, anomalies = band_test(name, counts, n, field_bands, self.z_threshold)
        if self.previous is not None:
            anomalies.extend(drift_anomalies(name, counts, n, self.previous, self.z_threshold))
        probe = idempotence_probe(
            name,
            tally.after,
            self.registry,
            size=self.probe_size,
            seed=self.seed,
            include_values=self.include_values,
        )
        anomaly = idempotence_anomaly(name, probe)
        if anomaly is not None:
            anomalies.append(anomaly)
        figures = FieldQuality(
            field=name,
            values=tally.values,
            empty=tally.empty,
            coverage=Rate.of(tally.covered, n),
            improvement=Rate.of(tally.changed, n),
            distinct_before=len(tally.before),
            distinct_after=len(tally.after),
            sources={source: tally.sources[source] for source in sorted(tally.sources)},
            flags=dict(sorted(tally.flags.items())),
            guard_rejections=tally.flags[FLAG_GUARD_REJECTED],
            band={metric: (band[0], band[1]) for metric, band in field_bands.items()},
            z=z,
            top_mappings=[
                TopMapping(original=original, normalized=normalized, count=count)
                for (original, normalized), count in sorted(
                    tally.mappings.items(), key=lambda kv: (-kv[1], kv[0])
                )[: self.top_n]
            ],
            idempotence=probe,
        )
        return figures, anomalies
