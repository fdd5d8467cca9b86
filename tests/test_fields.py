import pytest

from llm_normalize import COLOMBIAN_LEADS, FieldSpec, Profile
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.fields import Band, Metric


def upper(value: str) -> str:
    return value.upper()


def spec(name: str = "x", /, **kwargs: object) -> FieldSpec:
    return FieldSpec(name, kind="free_text", instructions="tidy it", **kwargs)  # type: ignore[arg-type]


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

    def test_chain_and_bands(self) -> None:
        """A spec carries its post-processor chain and its quality bands."""
        bands: dict[Metric, Band] = {"coverage": (0.9, 1.0)}
        made = spec(chain=[upper], bands=bands)
        assert made.chain == (upper,)
        assert made.bands == {"coverage": (0.9, 1.0)}
        assert made == spec(chain=(upper,), bands={"coverage": (0.9, 1.0)})
        assert hash(made) == hash(spec(chain=(upper,)))

    def test_bands_are_read_only(self) -> None:
        """The bands of a spec cannot be changed through the spec, nor by the caller's dict."""
        bands: dict[Metric, Band] = {"coverage": (0.9, 1.0)}
        made = spec(bands=bands)
        bands["coverage"] = (0.0, 0.1)
        assert made.bands["coverage"] == (0.9, 1.0)
        with pytest.raises(TypeError):
            made.bands["coverage"] = (0.0, 1.0)  # type: ignore[index]

    def test_defaults(self) -> None:
        """Without a chain or bands, a spec has none."""
        assert spec().chain == ()
        assert spec().bands == {}

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"chain": ("not callable",)}, "callable"),
            ({"bands": {"speed": (0.0, 1.0)}}, "metric must be one of"),
            ({"bands": {"coverage": (0.9, 0.1)}}, "low <= high"),
            ({"bands": {"coverage": (-0.1, 0.5)}}, "low <= high"),
            ({"bands": {"improvement": (0.5, 1.5)}}, "low <= high"),
        ],
    )
    def test_bad_chain_or_bands(self, kwargs: dict[str, object], message: str) -> None:
        """A chain of non-callables or a band outside [0, 1] is refused."""
        with pytest.raises(ConfigurationError, match=message):
            spec(**kwargs)

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

    def test_chains_and_bands(self) -> None:
        """A profile lists the chains and bands of the fields that have them, in order."""
        profile = Profile(
            "p",
            [
                spec("b", chain=(upper,)),
                spec("a", bands={"coverage": (0.5, 1.0)}),
                spec("c"),
            ],
        )
        assert dict(profile.chains) == {"b": (upper,)}
        assert {name: dict(bands) for name, bands in profile.bands.items()} == {
            "a": {"coverage": (0.5, 1.0)}
        }

    def test_duplicate_refused(self) -> None:
        """A profile cannot list a field twice."""
        spec = FieldSpec("a_b", kind="free_text", instructions="tidy it")
        twin = FieldSpec("aB", kind="free_text", instructions="tidy it")
        with pytest.raises(ConfigurationError, match="twice"):
            Profile("p", [spec, twin])
