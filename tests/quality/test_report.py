"""llm_normalize.quality.report: quality_report end to end."""

import subprocess
import sys

import pytest

from llm_normalize import default_registry
from llm_normalize.quality import quality_report
from llm_normalize.stores.memory import MemoryLeadStore
from quality.helpers import item, items


class TestQualityReport:
    def test_bad_arguments(self) -> None:
        """A sample rate outside [0, 1] is refused."""
        with pytest.raises(ValueError, match="sample_rate"):
            quality_report([], sample_rate=1.5)

    def test_real_sample_has_no_anomaly(self, sample_store: MemoryLeadStore) -> None:
        """The rules on the 2000-lead sample land inside every default band, idempotently."""
        report = quality_report(sample_store)
        assert report.records_normalized == 2000
        assert not report.has_anomalies, [a.message for a in report.anomalies]
        assert {f.field for f in report.fields} == {
            "nombres",
            "apellidos",
            "direccion",
            "ciudad",
            "nivelEducativo",
            "ocupacionActual",
            "empresa",
        }
        city = report.field("ciudad")
        assert city.distinct_before > 2 * city.distinct_after
        assert all(f.idempotence.checked > 0 for f in report.fields)

    def test_anomalies_sorted_idempotence_first(self) -> None:
        """Idempotence failures come first, then the largest |z|."""
        registry = default_registry.derive()
        registry.register("ciudad", lambda value: value + ".", replace=True)
        report = quality_report(
            items(95, 5), registry=registry, bands={"ciudad": {"coverage": (0.0, 0.5)}}
        )
        assert [a.kind for a in report.anomalies] == ["idempotence", "band"]

    def test_no_values_leaves_canaries_out(self) -> None:
        """include_values=False keeps every value out of the HTML and the JSON."""
        registry = default_registry.derive()
        registry.register("ciudad", lambda value: value + "!", replace=True)
        rows = [item(str(i), f"CANARY-ORIG-{i}", f"canary-norm-{i}") for i in range(50)]
        for report in (
            quality_report(rows, sample_rate=1.0, include_values=False, registry=registry),
            quality_report(rows, sample_rate=1.0, registry=registry).without_values(),
        ):
            assert report.has_anomalies
            for text in (report.to_html(), report.to_json()):
                assert "canary" not in text.casefold()
            assert report.sample == []

    def test_values_included_by_default(self) -> None:
        """By default the sample and the mappings carry the values the user asked for."""
        rows = [item(str(i), f"CANARY-ORIG-{i}", f"canary-norm-{i}") for i in range(50)]
        page = quality_report(rows, sample_rate=1.0).to_html()
        assert "CANARY-ORIG-1" in page
        assert "canary-norm-1" in page


class TestPackage:
    def test_public_names(self) -> None:
        """Every name the single quality module had is still importable from the package."""
        import llm_normalize.quality as quality

        for name in (
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
        ):
            assert hasattr(quality, name), name
        assert set(quality.__all__) <= set(dir(quality))
        assert quality.__all__ == sorted(
            quality.__all__, key=lambda n: (not n.isupper(), not n[:1].isupper(), n)
        )

    def test_import_llm_normalize_loads_no_quality_code(self) -> None:
        """`import llm_normalize` loads neither the quality report nor any HTML code."""
        code = (
            "import sys, llm_normalize\n"
            "loaded = [m for m in sys.modules if m.startswith("
            "('llm_normalize.quality', 'llm_normalize.display', 'llm_normalize.notebook'))]\n"
            "assert not loaded, loaded\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
