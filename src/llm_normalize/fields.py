"""What a field is: `FieldSpec` and `Profile`.

A `FieldSpec` describes one field to every part that needs to understand it:
the prompt builder (instructions and examples for the model), the guard (what *kind* of
value it holds, and for categories, the allowed labels), the pipeline (the strategy:
rules only, model only, or the model only when the rules are not confident), the
post-processors that tidy it (its `chain`) and the quality report (its `bands`).

A `Profile` is an ordered, immutable set of field specs. The seed's seven fields are the
`COLOMBIAN_LEADS` profile, in `llm_normalize.profiles.colombia`; its `chains` build the
default post-processor registry, so a field is defined in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, get_args

from llm_normalize._names import field_key
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.postprocessors.base import PostProcessor

__all__ = [
    "Band",
    "FieldKind",
    "FieldSpec",
    "Metric",
    "Profile",
    "Strategy",
]

FieldKind: TypeAlias = Literal["name", "address", "place", "category", "free_text"]
"""What a field holds, which decides how the guard checks a model's answer."""

Strategy: TypeAlias = Literal["rules", "llm", "auto"]
"""Who decides a field's value: the rules alone, the model always, or the model only
when the rules are not confident (`auto`, the default)."""

Metric: TypeAlias = Literal["coverage", "improvement"]
"""The rates of a field that a quality band or a drift test applies to."""

Band: TypeAlias = tuple[float, float]
"""The expected (low, high) range of a rate, both between 0 and 1."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a record: what it holds and how to normalize it.

    Attributes:
        name: The attribute name in the records, e.g. ``"nivelEducativo"``.
        kind: What the field holds (see `FieldKind`).
        instructions: The rule a model must follow for this field, one or two sentences.
        examples: Pairs of (messy input, expected output) shown to the model.
        strategy: `rules`, `llm` or `auto` (see `Strategy`).
        labels: For `category` fields, the only values allowed.
        max_length: The longest answer accepted for this field.
        chain: The post-processors that tidy the field's values, run left to right;
            a profile's `chains` builds a registry from them.
        bands: The expected (low, high) range of each quality rate of the field
            (see `Metric`), for the quality report's anomaly test.
        aliases: Other column headers the field goes by in files and DataFrames, such as
            ``"Dirección de residencia"`` for ``direccion``. Headers are matched ignoring
            case, accents, spaces and punctuation (see `llm_normalize.columns`).
    """

    name: str
    kind: FieldKind
    instructions: str
    examples: tuple[tuple[str, str], ...] = ()
    strategy: Strategy = "auto"
    labels: tuple[str, ...] = ()
    max_length: int = 200
    chain: tuple[PostProcessor, ...] = ()
    bands: Mapping[Metric, Band] = field(default_factory=dict, hash=False)
    aliases: tuple[str, ...] = ()
    # Derived once: the key the field matches under (camelCase and snake_case alike).
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigurationError("a FieldSpec needs a non-empty name")
        if self.kind not in get_args(FieldKind):
            raise ConfigurationError(
                f"field {self.name!r}: kind must be one of {get_args(FieldKind)}"
            )
        if self.strategy not in get_args(Strategy):
            raise ConfigurationError(
                f"field {self.name!r}: strategy must be one of {get_args(Strategy)}"
            )
        if self.kind == "category" and not self.labels:
            raise ConfigurationError(f"field {self.name!r}: a category field needs labels")
        if self.max_length < 1:
            raise ConfigurationError(f"field {self.name!r}: max_length must be positive")
        object.__setattr__(self, "chain", _checked_chain(self.name, self.chain))
        object.__setattr__(self, "bands", _checked_bands(self.name, self.bands))
        object.__setattr__(self, "key", field_key(self.name))
        aliases = tuple(self.aliases)
        if not all(isinstance(alias, str) and alias.strip() for alias in aliases):
            raise ConfigurationError(f"field {self.name!r}: aliases must be non-empty strings")
        object.__setattr__(self, "aliases", aliases)

    def __reduce__(self) -> tuple[Any, ...]:
        # The bands are read-only (a mappingproxy, which does not pickle): rebuild the spec.
        return (_spec_from_fields, (self._init_fields(),))

    def _init_fields(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        fields["bands"] = dict(self.bands)
        return fields

    def with_strategy(self, strategy: Strategy) -> FieldSpec:
        """Return a copy of this spec with another strategy."""
        return replace(self, strategy=strategy)


def _spec_from_fields(fields: dict[str, Any]) -> FieldSpec:
    """A `FieldSpec` from its constructor's arguments (unpickling)."""
    return FieldSpec(**fields)


def _checked_chain(name: str, chain: Iterable[PostProcessor]) -> tuple[PostProcessor, ...]:
    funcs = tuple(chain)
    for func in funcs:
        if not callable(func):
            raise ConfigurationError(
                f"field {name!r}: a post-processor must be a callable str -> str, "
                f"got {type(func).__name__}"
            )
    return funcs


def _checked_bands(name: str, bands: Mapping[Metric, Band]) -> Mapping[Metric, Band]:
    checked: dict[Metric, Band] = {}
    for metric, band in bands.items():
        if metric not in get_args(Metric):
            raise ConfigurationError(
                f"field {name!r}: a band's metric must be one of {get_args(Metric)}"
            )
        low, high = band
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigurationError(
                f"field {name!r}: the {metric} band needs 0 <= low <= high <= 1"
            )
        checked[metric] = (float(low), float(high))
    # Read-only, so a spec shared by two profiles cannot be changed through one of them.
    return MappingProxyType(checked)


class Profile(Mapping[str, FieldSpec]):
    """An ordered, immutable set of field specs, looked up by camelCase or snake_case name.

    Examples:
        >>> profile = Profile("demo", [FieldSpec("nivelEducativo", "free_text", "Tidy it.")])
        >>> profile["nivel_educativo"].name
        'nivelEducativo'
    """

    def __init__(self, name: str, fields: Iterable[FieldSpec]) -> None:
        self.name = name
        self._specs: dict[str, FieldSpec] = {}
        for spec in fields:
            if spec.key in self._specs:
                raise ConfigurationError(f"profile {name!r} lists field {spec.name!r} twice")
            self._specs[spec.key] = spec

    def __repr__(self) -> str:
        return f"Profile({self.name!r}, fields={self.names!r})"

    def __getitem__(self, field_name: str) -> FieldSpec:
        spec = self._specs.get(field_key(field_name))
        if spec is None:
            raise UnknownFieldError(field_name, self.names)
        return spec

    def __contains__(self, field_name: object) -> bool:
        return isinstance(field_name, str) and field_key(field_name) in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def names(self) -> tuple[str, ...]:
        """The field names, in profile order."""
        return tuple(spec.name for spec in self._specs.values())

    @property
    def chains(self) -> Mapping[str, tuple[PostProcessor, ...]]:
        """The post-processor chain of each field that has one, in profile order."""
        return MappingProxyType(
            {spec.name: spec.chain for spec in self._specs.values() if spec.chain}
        )

    @property
    def bands(self) -> Mapping[str, Mapping[Metric, Band]]:
        """The quality bands of each field that has some, in profile order."""
        return MappingProxyType(
            {spec.name: spec.bands for spec in self._specs.values() if spec.bands}
        )

    def with_fields(self, *specs: FieldSpec, name: str | None = None) -> Profile:
        """Return a new profile with `specs` added, or replacing the fields they name."""
        merged = dict(self._specs)
        for spec in specs:
            merged[spec.key] = spec
        return Profile(name or self.name, merged.values())

    def without(self, *field_names: str) -> Profile:
        """Return a new profile without the named fields."""
        for field_name in field_names:
            self[field_name]  # raises UnknownFieldError with a hint
        keys = {field_key(n) for n in field_names}
        return Profile(self.name, (s for k, s in self._specs.items() if k not in keys))
