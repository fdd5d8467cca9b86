import pytest
from hypothesis import given

from llm_normalize import default_registry
from llm_normalize.exceptions import ConfigurationError, UnknownPostProcessorError
from llm_normalize.postprocessors import (
    DEFAULT_CHAINS,
    Outcome,
    PostProcessorRegistry,
    assessed_by,
    capitalize_words,
    normalize_city,
)
from strategies import text_or_form


def shout(value: str) -> str:
    return value.upper()


def exclaim(value: str) -> str:
    return value if value.endswith("!") else value + "!"


def assess_maybe(value: str) -> Outcome:
    return Outcome(value.strip(), confident=value.strip() != "?", reason="maybe")


@assessed_by(assess_maybe)
def maybe(value: str) -> str:
    return assess_maybe(value).value


class TestDefaultRegistry:
    def test_seed_fields(self) -> None:
        """The seven seed fields have chains."""
        assert default_registry.fields == (
            "nombres",
            "apellidos",
            "direccion",
            "ciudad",
            "nivelEducativo",
            "ocupacionActual",
            "empresa",
        )

    @pytest.mark.parametrize(
        ("field", "raw", "expected"),
        [
            ("nombres", "JUAN CARLOS", "Juan Carlos"),
            ("apellidos", "PEREZ GARCIA", "Perez Garcia"),
            ("direccion", "CRA 15 NO 100 25", "Cra. 15 # 100 - 25"),
            ("nivelEducativo", "profesional universitario", "Profesional"),
            ("nivel_educativo", "profesional universitario", "Profesional"),
            ("ocupacionActual", "Ing. Sistemas", "Ingeniero de Sistemas"),
            ("ocupacion_actual", "Ing. Sistemas", "Ingeniero de Sistemas"),
            ("empresa", "sena", "SENA"),
        ],
    )
    def test_seed_examples(self, field: str, raw: str, expected: str) -> None:
        """The seed's normalizedData examples come out as the seed shows them."""
        assert default_registry.apply(field, raw) == expected

    def test_bogota(self) -> None:
        """The seed's "bogota" becomes Bogotá's canonical name, which ends in D.C."""
        result = default_registry.apply("ciudad", "bogota")
        assert result is not None
        assert result.startswith("Bogot")
        assert result.endswith("D.C.")

    def test_none_and_unknown_field(self) -> None:
        """None stays None; a field with no chain passes its value through."""
        assert default_registry.apply("ciudad", None) is None
        assert default_registry.apply("telefono", "+57 300") == "+57 300"

    @pytest.mark.parametrize("field", list(DEFAULT_CHAINS))
    @given(value=text_or_form)
    def test_apply_idempotent(self, field: str, value: str) -> None:
        """The public contract: apply(f, apply(f, v)) == apply(f, v)."""
        once = default_registry.apply(field, value)
        assert default_registry.apply(field, once) == once

    def test_read_only(self) -> None:
        """The shared default registry cannot be changed by accident."""
        with pytest.raises(ConfigurationError, match="read-only"):
            default_registry.register("ciudad", shout, replace=True)
        with pytest.raises(ConfigurationError, match="read-only"):
            default_registry.unregister("ciudad")

    def test_assess_reports_confidence(self) -> None:
        """Assessing through the registry uses each built-in's assessor."""
        assert default_registry.assess("nombres", "JUAN").confident
        assert not default_registry.assess("nombres", "Juan 123").confident


class TestRegistry:
    def test_decorator(self) -> None:
        """A decorated function becomes the field's chain and is returned unchanged."""
        registry = PostProcessorRegistry()

        @registry.register("codigo")
        def upper(value: str) -> str:
            return value.upper()

        assert upper("x") == "X"
        assert registry.apply("codigo", "ab") == "AB"

    def test_call_with_chain(self) -> None:
        """A sequence registers a chain that runs left to right."""
        registry = PostProcessorRegistry()
        registry.register("grito", [shout, exclaim])
        assert registry.apply("grito", "hola") == "HOLA!"
        assert registry.get("grito") == (shout, exclaim)

    def test_duplicate_refused(self) -> None:
        """Registering a field twice is an error unless asked for."""
        registry = PostProcessorRegistry({"grito": shout})
        with pytest.raises(ConfigurationError, match="already has"):
            registry.register("grito", exclaim)

    def test_replace_and_append(self) -> None:
        """replace=True replaces the chain and append=True extends it."""
        registry = PostProcessorRegistry({"grito": shout})
        registry.register("grito", exclaim, replace=True)
        assert registry.apply("grito", "a") == "a!"
        registry.register("grito", shout, append=True)
        assert registry.apply("grito", "a") == "A!"

    def test_camel_and_snake(self) -> None:
        """camelCase and snake_case spellings are one field, shown as first registered."""
        registry = PostProcessorRegistry({"nivelEducativo": shout})
        assert "nivel_educativo" in registry
        assert registry.apply("NIVEL_EDUCATIVO", "a") == "A"
        assert registry.fields == ("nivelEducativo",)

    def test_derive_is_independent(self) -> None:
        """A derived registry starts as a copy and changes alone."""
        derived = default_registry.derive()
        derived.register("ciudad", shout, replace=True)
        derived.register("telefono", exclaim)
        assert derived.apply("ciudad", "cali") == "CALI"
        assert default_registry.get("ciudad") == (normalize_city,)
        assert "telefono" not in default_registry
        assert not derived.read_only

    def test_get_unknown_suggests(self) -> None:
        """Asking for an unknown field's chain names the closest known field."""
        with pytest.raises(UnknownPostProcessorError, match="did you mean 'ciudad'"):
            default_registry.get("ciudadd")

    def test_unregister(self) -> None:
        """After unregistering, values pass through."""
        registry = default_registry.derive()
        registry.unregister("nombres")
        assert registry.apply("nombres", "JUAN") == "JUAN"
        with pytest.raises(UnknownPostProcessorError):
            registry.unregister("nombres")

    def test_rejects_non_callables(self) -> None:
        """Only callables can be registered."""
        registry = PostProcessorRegistry()
        with pytest.raises(ConfigurationError, match="callable"):
            registry.register("x", ["not a function"])  # type: ignore[list-item]

    def test_chain_confidence(self) -> None:
        """A chain is confident only when every step is; the reason is the doubter's."""
        registry = PostProcessorRegistry({"x": [capitalize_words, maybe], "y": [shout, maybe]})
        assert registry.assess("x", "ana") == Outcome("Ana", confident=True, reason="maybe")
        assert registry.assess("y", "?") == Outcome("?", confident=False, reason="maybe")
        first_doubter = registry.assess("x", "?")
        assert not first_doubter.confident
        assert first_doubter.reason == "unusual"

    def test_plain_functions_are_confident(self) -> None:
        """A function with no assessor counts as confident."""
        registry = PostProcessorRegistry({"x": shout})
        assert registry.assess("x", "a") == Outcome("A", confident=True)
