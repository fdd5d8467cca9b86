"""llm_normalize.quality.bands: rates against their expected bands."""

from dataclasses import replace

import pytest

from llm_normalize._names import field_key
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.quality import COLOMBIAN_BANDS, quality_report, z_against_band
from llm_normalize.quality.bands import band_test, bands_by_key
from quality.helpers import items


class TestBands:
    def test_rate_above_band_is_an_anomaly(self) -> None:
        """An improvement rate far above its band is flagged with its z-score, without values."""
        report = quality_report(items(95, 5), bands={"ciudad": {"improvement": (0.2, 0.6)}})
        assert report.has_anomalies
        [anomaly] = report.anomalies
        assert (anomaly.kind, anomaly.metric, anomaly.field) == ("band", "improvement", "ciudad")
        assert anomaly.z == pytest.approx(z_against_band(95, 100, (0.2, 0.6)))
        assert anomaly.z > 7
        assert "bogota" not in anomaly.message.casefold()

    def test_default_bands_apply_to_camel_case_fields(self) -> None:
        """The Colombian bands match stored camelCase names."""
        assert "nivel_educativo" in COLOMBIAN_BANDS
        report = quality_report(items(0, 200, field="nivelEducativo"))
        assert [(a.field, a.metric) for a in report.anomalies] == [
            ("nivelEducativo", "improvement")
        ]

    def test_small_deviation_is_not_an_anomaly(self) -> None:
        """A rate just outside its band on few values stays under the threshold."""
        report = quality_report(items(7, 3), bands={"ciudad": {"improvement": (0.2, 0.6)}})
        assert not report.has_anomalies
        assert report.field("ciudad").z["improvement"] > 0

    def test_colombian_bands_are_the_profiles(self) -> None:
        """COLOMBIAN_BANDS is derived from the profile's field specs, in the old spelling."""
        assert list(COLOMBIAN_BANDS) == [
            "nombres",
            "apellidos",
            "direccion",
            "ciudad",
            "nivel_educativo",
            "ocupacion_actual",
            "empresa",
        ]
        assert {field_key(n): dict(b) for n, b in COLOMBIAN_BANDS.items()} == {
            field_key(n): dict(b) for n, b in COLOMBIAN_LEADS.bands.items()
        }
        assert COLOMBIAN_BANDS["ciudad"] == {"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)}

    def test_bands_come_from_the_profile(self) -> None:
        """Without bands=, a field is tested against the band its profile's spec holds."""
        spec = replace(COLOMBIAN_LEADS["ciudad"], bands={"improvement": (0.2, 0.6)})
        profile = COLOMBIAN_LEADS.with_fields(spec)
        [anomaly] = quality_report(items(95, 5), profile=profile).anomalies
        assert (anomaly.kind, anomaly.field, anomaly.expected) == ("band", "ciudad", (0.2, 0.6))
        assert quality_report(items(95, 5), profile=profile).field("ciudad").band == {
            "improvement": (0.2, 0.6)
        }
        assert not quality_report(items(95, 5)).has_anomalies

    def test_explicit_bands_replace_the_profiles(self) -> None:
        """bands= wins over the profile; bands={} tests nothing."""
        report = quality_report(items(0, 200, field="nivelEducativo"), bands={})
        assert not report.has_anomalies
        assert report.field("nivelEducativo").band == {}

    def test_bands_by_key_matches_either_spelling(self) -> None:
        """Bands are looked up under the field key, so camelCase and snake_case meet."""
        keyed = bands_by_key({"nivel_educativo": {"coverage": (0.5, 1.0)}})
        assert keyed[field_key("nivelEducativo")] == {"coverage": (0.5, 1.0)}

    def test_band_test_scores_only_known_metrics(self) -> None:
        """A band for a rate the report does not measure is ignored."""
        z, anomalies = band_test("ciudad", {"coverage": 50}, 100, {"other": (0.0, 0.1)}, 3.0)
        assert (z, anomalies) == ({}, [])
