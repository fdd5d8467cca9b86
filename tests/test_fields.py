import pytest

from llm_normalize import COLOMBIAN_LEADS, FieldSpec, Profile, default_registry
from llm_normalize.config import DEFAULT_FIELDS
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.postprocessors import EDUCATION_LEVELS


class TestColombianLeads:
    def test_seed_fields_in_order(self) -> None:
        """The profile holds the seven seed fields, in the seed's order."""
        assert COLOMBIAN_LEADS.names == DEFAULT_FIELDS

    @pytest.mark.parametrize("spec", list(COLOMBIAN_LEADS.values()), ids=lambda s: s.name)
    def test_examples_agree_with_rules(self, spec: FieldSpec) -> None:
        """Every example shown to a model is what the rules themselves produce."""
        assert spec.examples
        for raw, expected in spec.examples:
            assert default_registry.apply(spec.name, raw) == expected

    @pytest.mark.parametrize("spec", list(COLOMBIAN_LEADS.values()), ids=lambda s: s.name)
    def test_instructions_present(self, spec: FieldSpec) -> None:
        """Every field tells a model what to do."""
        assert len(spec.instructions) > 20

    def test_education_is_a_category(self) -> None:
        """The education field is a category over the canonical levels."""
        spec = COLOMBIAN_LEADS["nivel_educativo"]
        assert spec.kind == "category"
        assert spec.labels == EDUCATION_LEVELS


class TestFieldSpec:
    def test_category_needs_labels(self) -> None:
        """A category without labels is refused."""
        with pytest.raises(ConfigurationError, match="labels"):
            FieldSpec("x", kind="category", instructions="pick one")

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"kind": "colour"}, "kind must be one of"),
            ({"strategy": "maybe"}, "strategy must be one of"),
            ({"max_length": 0}, "max_length"),
        ],
    )
    def test_bad_values(self, kwargs: dict[str, object], message: str) -> None:
        """Bad kinds, strategies and lengths are refused with a clear message."""
        args: dict[str, object] = {"kind": "free_text", "instructions": "tidy", **kwargs}
        with pytest.raises(ConfigurationError, match=message):
            FieldSpec("x", **args)  # type: ignore[arg-type]

    def test_with_strategy(self) -> None:
        """with_strategy returns a changed copy."""
        spec = COLOMBIAN_LEADS["ciudad"].with_strategy("rules")
        assert spec.strategy == "rules"
        assert COLOMBIAN_LEADS["ciudad"].strategy == "auto"


class TestProfile:
    def test_lookup_any_spelling(self) -> None:
        """Fields are found by camelCase or snake_case name."""
        assert COLOMBIAN_LEADS["ocupacion_actual"] is COLOMBIAN_LEADS["ocupacionActual"]
        assert "nivel_educativo" in COLOMBIAN_LEADS

    def test_unknown_field_hint(self) -> None:
        """An unknown field raises with a did-you-mean hint."""
        with pytest.raises(UnknownFieldError, match="did you mean 'ciudad'"):
            COLOMBIAN_LEADS["cuidad"]

    def test_with_fields_and_without(self) -> None:
        """Profiles derive new profiles; the original is unchanged."""
        extra = FieldSpec("barrio", kind="free_text", instructions="A neighbourhood name.")
        bigger = COLOMBIAN_LEADS.with_fields(extra)
        assert bigger.names[-1] == "barrio"
        smaller = bigger.without("empresa", "barrio")
        assert "empresa" not in smaller
        assert len(COLOMBIAN_LEADS) == 7

    def test_duplicate_refused(self) -> None:
        """A profile cannot list a field twice."""
        spec = FieldSpec("a_b", kind="free_text", instructions="tidy it")
        twin = FieldSpec("aB", kind="free_text", instructions="tidy it")
        with pytest.raises(ConfigurationError, match="twice"):
            Profile("p", [spec, twin])
