import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize import NormalizationConfig, Normalizer, default_registry, pipeline
from llm_normalize.exceptions import UnknownFieldError
from strategies import text_or_form

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"

LEAD = {
    "leadId": "lead-1",
    "nombres": "JUAN CARLOS",
    "apellidos": "PEREZ GARCIA",
    "direccion": "CRA 15 NO 100 25",
    "ciudad": "bogota",
    "nivelEducativo": "profesional universitario",
    "ocupacionActual": "Ing. Sistemas",
    "empresa": "sena",
    "telefono": "+57 300 000 0000",
}


class TestNormalize:
    def test_seed_lead(self) -> None:
        """The seed's example lead comes out as its normalizedData block shows."""
        [record] = Normalizer().normalize([LEAD])
        assert record.id == "lead-1"
        assert record.error is None
        normalized = record.normalized
        assert normalized["nombres"] == "Juan Carlos"
        assert normalized["apellidos"] == "Perez Garcia"
        assert normalized["direccion"] == "Cra. 15 # 100 - 25"
        assert normalized["nivelEducativo"] == "Profesional"
        assert normalized["ocupacionActual"] == "Ingeniero de Sistemas"
        assert normalized["empresa"] == "SENA"
        assert "telefono" not in normalized
        assert set(record.sources.values()) == {"rules"}

    def test_original_untouched(self) -> None:
        """The input mapping is never modified, and the record keeps a read-only copy."""
        lead = copy.deepcopy(LEAD)
        [record] = Normalizer().normalize([lead])
        assert lead == LEAD
        assert record.original == LEAD
        with pytest.raises(TypeError):
            record.original["nombres"] = "x"  # type: ignore[index]

    def test_missing_fields_skipped(self) -> None:
        """A record without a field has no result for it."""
        [record] = Normalizer().normalize([{"leadId": "x", "ciudad": "CALI"}])
        assert list(record.fields) == ["ciudad"]

    def test_none_value(self) -> None:
        """None stays None, confident, unflagged."""
        [record] = Normalizer().normalize([{"leadId": "x", "empresa": None}])
        assert record.normalized == {"empresa": None}
        assert record.flags == {}

    def test_numbers_are_text(self) -> None:
        """A number where text was expected is normalized as its text."""
        [record] = Normalizer().normalize([{"leadId": "x", "nombres": 12}])
        assert record.normalized["nombres"] == "12"

    @pytest.mark.parametrize("value", [["a"], {"a": 1}, True])
    def test_unsupported_type(self, value: Any) -> None:
        """Lists, objects and booleans are flagged, not guessed."""
        [record] = Normalizer().normalize([{"leadId": "x", "ciudad": value}])
        assert record.normalized == {"ciudad": None}
        assert record.flags == {"ciudad": ("unsupported_type",)}

    def test_not_a_mapping(self) -> None:
        """A record that is not a mapping fails alone and the others go on."""
        records = Normalizer().normalize([["not", "a", "dict"], {"leadId": "ok", "ciudad": "cali"}])  # type: ignore[list-item]
        assert records[0].error == "expected a mapping, got list"
        assert records[0].id == "#0"
        assert records[1].error is None

    def test_id_fallback(self) -> None:
        """Without an id, a record is named by its position."""
        records = Normalizer().normalize([{"ciudad": "cali"}, {"leadId": "", "ciudad": "cali"}])
        assert [r.id for r in records] == ["#0", "#1"]

    def test_not_confident_flagged(self) -> None:
        """A value the rules are unsure of carries the not_confident flag."""
        [record] = Normalizer().normalize([{"leadId": "x", "nombres": "juan 123"}])
        assert record.flags == {"nombres": ("not_confident",)}
        assert record.fields["nombres"].reason == "unusual"

    def test_changed(self) -> None:
        """changed lists the fields whose value differs from the original."""
        [record] = Normalizer().normalize([{"leadId": "x", "nombres": "Ana", "apellidos": "PEREZ"}])
        assert record.changed == ("apellidos",)

    def test_fields_to_normalize(self) -> None:
        """Only the configured fields are normalized, in snake_case or camelCase."""
        config = NormalizationConfig(fields_to_normalize=("nivel_educativo",))
        [record] = Normalizer(config=config).normalize([LEAD])
        assert record.normalized == {}
        config = NormalizationConfig(fields_to_normalize=("nivelEducativo",))
        [record] = Normalizer(config=config).normalize([LEAD])
        assert record.normalized == {"nivelEducativo": "Profesional"}

    def test_unknown_field(self) -> None:
        """An unknown field to normalize is refused at construction with a hint."""
        with pytest.raises(UnknownFieldError, match="did you mean 'ciudad'"):
            Normalizer(config=NormalizationConfig(fields_to_normalize=("ciudda",)))

    def test_custom_registry_field(self) -> None:
        """A field known only to a custom registry can be normalized."""
        registry = default_registry.derive()
        registry.register("telefono", lambda v: "".join(c for c in v if c.isdigit()))
        config = NormalizationConfig(fields_to_normalize=("telefono",))
        [record] = Normalizer(config=config, registry=registry).normalize([LEAD])
        assert record.normalized == {"telefono": "573000000000"}

    @given(
        st.dictionaries(
            st.sampled_from(["nombres", "direccion", "ciudad", "empresa", "x"]), text_or_form
        )
    )
    def test_rules_equal_registry(self, record: dict[str, str]) -> None:
        """The pipeline's rules output is exactly default_registry.apply."""
        [result] = Normalizer().normalize([record])
        for name, value in result.normalized.items():
            assert value == default_registry.apply(name, record[name])


class TestRulesMemo:
    """The rules' results are remembered per field, within bounds."""

    def test_a_repeat_is_remembered(self) -> None:
        """A value seen before is answered from its field's memo, with the same result."""
        normalizer = Normalizer()
        first, second = normalizer.normalize([LEAD, dict(LEAD, leadId="lead-2")])
        assert first.fields == second.fields
        info = normalizer._memo("ciudad").cache_info()  # type: ignore[attr-defined]
        assert (info.hits, info.misses) == (1, 1)

    def test_each_field_keeps_its_own(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Distinct values of one field never push out the repeating values of another."""
        monkeypatch.setattr(pipeline, "_MEMO_LIMIT", 4)
        normalizer = Normalizer()
        records = [{"direccion": f"calle {n} # 1-2", "ciudad": "bogota"} for n in range(20)]
        normalizer.normalize(records)
        addresses = normalizer._memo("direccion").cache_info()  # type: ignore[attr-defined]
        cities = normalizer._memo("ciudad").cache_info()  # type: ignore[attr-defined]
        assert (addresses.currsize, addresses.hits) == (4, 0)
        assert (cities.currsize, cities.hits) == (1, 19)

    def test_long_values_are_not_remembered(self) -> None:
        """A value too long to repeat is decided every time, and decided alike."""
        normalizer = Normalizer()
        long = "calle 5 # 10-20 " + "barrio la esperanza " * 20
        records = normalizer.normalize([{"direccion": long}, {"direccion": long}])
        assert records[0].fields == records[1].fields
        assert normalizer._memo("direccion").cache_info().currsize == 0  # type: ignore[attr-defined]
        assert records[0].normalized["direccion"] == default_registry.apply("direccion", long)


class TestSample:
    def test_whole_sample(self) -> None:
        """The 2,000-lead sample normalizes without a record error, idempotently."""
        leads = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
        assert len(leads) == 2000
        normalizer = Normalizer()
        for record in normalizer.iter_normalize(leads):
            for name, value in record.normalized.items():
                if value is not None:
                    assert default_registry.apply(name, value) == value, (record.id, name)
        report = normalizer.last_report
        assert report is not None
        assert report.records_in == report.records_normalized == 2000
        assert report.records_failed == 0
        assert report.fields_normalized > 13_000
        assert report.values_by_source == {"rules": report.fields_normalized}
        # Most values are settled by the rules; the rest is what a model will see.
        assert report.not_confident < 0.25 * report.fields_normalized
        assert sum(report.not_confident_by_field.values()) == report.not_confident
