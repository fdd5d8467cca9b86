import pytest

import llm_normalize
import llm_normalize.postprocessors
from llm_normalize import COLOMBIAN_LEADS, FieldSpec, default_registry
from llm_normalize.config import DEFAULT_FIELDS
from llm_normalize.postprocessors import EDUCATION_LEVELS
from llm_normalize.profiles import DEFAULT_CHAINS

# The seed's bands, as quality.COLOMBIAN_BANDS held them before they moved to the specs.
SEED_BANDS = {
    "nombres": {"coverage": (0.95, 1.0), "improvement": (0.2, 0.9)},
    "apellidos": {"coverage": (0.95, 1.0), "improvement": (0.2, 0.9)},
    "direccion": {"coverage": (0.8, 1.0), "improvement": (0.5, 1.0)},
    "ciudad": {"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
    "nivelEducativo": {"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
    "ocupacionActual": {"coverage": (0.85, 1.0), "improvement": (0.2, 0.95)},
    "empresa": {"coverage": (0.85, 1.0), "improvement": (0.2, 0.9)},
}


class TestColombianLeads:
    def test_seed_fields_in_order(self) -> None:
        """The profile holds the seven seed fields, in the seed's order."""
        assert COLOMBIAN_LEADS.names == DEFAULT_FIELDS
        assert DEFAULT_FIELDS == (
            "nombres",
            "apellidos",
            "direccion",
            "ciudad",
            "nivelEducativo",
            "ocupacionActual",
            "empresa",
        )

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

    def test_bands_are_the_seeds(self) -> None:
        """Every field carries both quality bands, with the seed's values."""
        assert {name: dict(bands) for name, bands in COLOMBIAN_LEADS.bands.items()} == SEED_BANDS


class TestDerived:
    def test_default_registry_is_the_profile_chains(self) -> None:
        """The default registry holds each spec's chain, in profile order."""
        assert default_registry.fields == COLOMBIAN_LEADS.names
        for spec in COLOMBIAN_LEADS.values():
            assert spec.chain
            assert default_registry.get(spec.name) == spec.chain
        assert dict(DEFAULT_CHAINS) == dict(COLOMBIAN_LEADS.chains)
        assert default_registry.read_only

    def test_same_objects_everywhere(self) -> None:
        """The package, the postprocessors package and the profiles module share one registry."""
        assert llm_normalize.default_registry is default_registry
        assert llm_normalize.postprocessors.default_registry is default_registry
        assert llm_normalize.postprocessors.DEFAULT_CHAINS is DEFAULT_CHAINS
        assert llm_normalize.COLOMBIAN_LEADS is COLOMBIAN_LEADS
