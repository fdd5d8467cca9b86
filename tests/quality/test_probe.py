"""llm_normalize.quality.probe: post-processors re-applied to stored values."""

from llm_normalize import default_registry
from llm_normalize.quality import quality_report
from quality.helpers import item, items


class TestIdempotenceProbe:
    def test_idempotence_probe_catches_double_dots(self) -> None:
        """A post-processor that adds a dot every time is caught directly."""
        registry = default_registry.derive()

        def add_dot(value: str) -> str:
            # The seed's bug: abbreviate without looking whether the dot is already there.
            return value.replace("Cra", "Cra.")

        registry.register("direccion", add_dot, replace=True)
        rows = [item(str(i), f"CRA {i}", f"Cra. {i}", field="direccion") for i in range(30)]
        rows += [item("ok", "Calle 1", "Calle 1", field="direccion")]
        report = quality_report(rows, registry=registry, bands={})
        probe = report.field("direccion").idempotence
        assert (probe.checked, probe.changed) == (31, 30)
        assert ("Cra. 0", "Cra.. 0") in probe.examples
        assert report.anomalies[0].kind == "idempotence"
        assert report.anomalies[0].message == (
            "direccion: 30 of 31 normalized values change when the post-processors are applied again"
        )

    def test_idempotence_probe_samples_reproducibly(self) -> None:
        """The probe checks at most idempotence_sample values, the same ones for a seed."""
        rows = items(100, 0)
        first = quality_report(rows, idempotence_sample=10, bands={})
        second = quality_report(rows, idempotence_sample=10, bands={})
        assert first.field("ciudad").idempotence.checked == 10
        assert first.field("ciudad").idempotence == second.field("ciudad").idempotence

    def test_raising_post_processor_is_reported(self) -> None:
        """A post-processor that raises on a stored value counts as a probe failure."""
        registry = default_registry.derive()

        def broken(value: str) -> str:
            raise RuntimeError("boom")

        registry.register("ciudad", broken, replace=True)
        report = quality_report(items(2, 0), registry=registry, bands={})
        assert report.field("ciudad").idempotence.changed == 2
