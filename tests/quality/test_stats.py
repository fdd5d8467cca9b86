"""llm_normalize.quality.stats: Wilson intervals and z-scores against known values."""

import pytest

from llm_normalize.quality import drift_z, wilson_interval, z_against_band


class TestWilson:
    @pytest.mark.parametrize(
        ("successes", "n", "low", "high"),
        [
            (0, 10, 0.0, 0.2775),
            (10, 10, 0.7225, 1.0),
            (5, 10, 0.2366, 0.7634),
            (1, 10, 0.0179, 0.4042),
            (50, 100, 0.4038, 0.5962),
            (0, 0, 0.0, 1.0),
        ],
    )
    def test_known_values(self, successes: int, n: int, low: float, high: float) -> None:
        """The interval matches published Wilson score values to four decimals."""
        got_low, got_high = wilson_interval(successes, n)
        assert got_low == pytest.approx(low, abs=5e-5)
        assert got_high == pytest.approx(high, abs=5e-5)

    def test_stays_inside_unit_interval(self) -> None:
        """Unlike the normal approximation, the interval never leaves [0, 1]."""
        for n in (1, 2, 7, 1000):
            for k in range(0, n + 1, max(1, n // 10)):
                low, high = wilson_interval(k, n)
                assert 0.0 <= low <= k / n <= high <= 1.0


class TestZScores:
    def test_inside_band_is_zero(self) -> None:
        """A rate inside its band scores 0."""
        assert z_against_band(50, 100, (0.4, 0.6)) == 0.0

    def test_above_band(self) -> None:
        """Above the band, z is the distance to the upper bound in its standard errors."""
        # p = 0.9, bound 0.6, se = sqrt(0.24 / 100) = 0.04899 -> z = 6.1237
        assert z_against_band(90, 100, (0.4, 0.6)) == pytest.approx(6.1237, abs=1e-4)

    def test_below_band(self) -> None:
        """Below the band, z is negative."""
        # p = 0.1, bound 0.4, se = sqrt(0.24 / 100) -> z = -6.1237
        assert z_against_band(10, 100, (0.4, 0.6)) == pytest.approx(-6.1237, abs=1e-4)

    def test_no_observation(self) -> None:
        """No value, no evidence."""
        assert z_against_band(0, 0, (0.4, 0.6)) == 0.0

    def test_drift_known_value(self) -> None:
        """The two-proportion z-test matches a hand computation."""
        # 60/100 vs 40/100: pooled 0.5, se = sqrt(0.25 * 0.02) = 0.070711 -> z = 2.8284
        assert drift_z(60, 100, 40, 100) == pytest.approx(2.8284, abs=1e-4)
        assert drift_z(40, 100, 60, 100) == pytest.approx(-2.8284, abs=1e-4)

    def test_drift_degenerate(self) -> None:
        """Equal all-or-nothing rates and empty sides give 0."""
        assert drift_z(10, 10, 20, 20) == 0.0
        assert drift_z(0, 0, 5, 10) == 0.0
