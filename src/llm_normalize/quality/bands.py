"""Expected bands: the range each rate of a healthy run falls in, and the test against it.

A field's bands live in its `FieldSpec` (`FieldSpec.bands`); a profile's `bands` gathers them.
A rate outside its band by more than the threshold, in standard errors of the nearest
bound (`z_against_band`), is an anomaly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from llm_normalize._names import field_key
from llm_normalize.fields import Band, Metric
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.quality.models import Anomaly
from llm_normalize.quality.stats import z_against_band

__all__ = ["COLOMBIAN_BANDS", "band_test", "bands_by_key"]

COLOMBIAN_BANDS: Final[Mapping[str, Mapping[Metric, Band]]] = {
    # snake_case, as this mapping has always been spelled; either spelling matches a field.
    re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower(): dict(bands)
    for name, bands in COLOMBIAN_LEADS.bands.items()
}
"""Expected (low, high) bands of each rate, per field of the Colombian leads profile.

Derived from the `bands` of `COLOMBIAN_LEADS`'s field specs, which `quality_report` reads
(through its `profile`): change a band there, or pass `bands=`, not here.
"""


def bands_by_key(bands: Mapping[str, Mapping[Any, Band]]) -> dict[str, dict[str, Band]]:
    """The bands of each field under its `field_key`, so either spelling matches.

    The inner keys are metrics (`Metric`); any other name is kept and ignored by `band_test`.
    """
    return {field_key(name): dict(metrics) for name, metrics in bands.items()}


def band_test(
    name: str,
    counts: Mapping[str, int],
    n: int,
    bands: Mapping[str, Band],
    z_threshold: float,
) -> tuple[dict[str, float], list[Anomaly]]:
    """The z-score of each rate of a field against its band, and the rates outside it.

    Args:
        name: The field, as stored.
        counts: The successes of each rate, out of `n`.
        n: The field's non-empty values.
        bands: The field's bands, by metric; a metric with no count is ignored.
        z_threshold: The |z| above which a rate is an anomaly.
    """
    z: dict[str, float] = {}
    anomalies: list[Anomaly] = []
    for metric, band in bands.items():
        if metric not in counts:
            continue
        z[metric] = score = z_against_band(counts[metric], n, band)
        if abs(score) > z_threshold:
            anomalies.append(
                Anomaly(
                    field=name,
                    kind="band",
                    metric=metric,
                    observed=counts[metric] / n,
                    expected=(band[0], band[1]),
                    z=score,
                    message=(
                        f"{name}: {metric} {counts[metric] / n:.1%} of {n} is "
                        f"{abs(score):.1f} standard errors {'above' if score > 0 else 'below'} "
                        f"its expected band {band[0]:.0%}-{band[1]:.0%}"
                    ),
                )
            )
    return z, anomalies
