"""The statistics of the quality report: Wilson intervals and z-scores, as pure functions."""

from __future__ import annotations

import math
from typing import Final

from llm_normalize.fields import Band

__all__ = ["Z_95", "drift_z", "wilson_interval", "z_against_band"]

Z_95: Final = 1.959963984540054
"""The two-sided 95% normal quantile."""


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
