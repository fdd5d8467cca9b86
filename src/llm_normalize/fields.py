"""What a field is: `FieldSpec`, `Profile`, and the default Colombian lead profile.

A `FieldSpec` describes one field to the parts that need to understand it:
the prompt builder (instructions and examples for the model), the guard (what *kind* of
value it holds, and for categories, the allowed labels) and the pipeline (the strategy:
rules only, model only, or the model only when the rules are not confident).
Which post-processors run for a field is the registry's business
(`llm_normalize.postprocessors.registry`), so that there is one place to change it.

A `Profile` is an ordered, immutable set of field specs. `COLOMBIAN_LEADS` holds the seven
fields of the seed's web-form leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias, get_args

from llm_normalize._names import field_key
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.postprocessors.education import EDUCATION_LEVELS

__all__ = [
    "COLOMBIAN_LEADS",
    "FieldKind",
    "FieldSpec",
    "Profile",
    "Strategy",
]

FieldKind: TypeAlias = Literal["name", "address", "place", "category", "free_text"]
"""What a field holds, which decides how the guard checks a model's answer."""

Strategy: TypeAlias = Literal["rules", "llm", "auto"]
"""Who decides a field's value: the rules alone, the model always, or the model only
when the rules are not confident (`auto`, the default)."""


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
    """

    name: str
    kind: FieldKind
    instructions: str
    examples: tuple[tuple[str, str], ...] = ()
    strategy: Strategy = "auto"
    labels: tuple[str, ...] = ()
    max_length: int = 200
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
        object.__setattr__(self, "key", field_key(self.name))

    def with_strategy(self, strategy: Strategy) -> FieldSpec:
        """Return a copy of this spec with another strategy."""
        return replace(self, strategy=strategy)


class Profile(Mapping[str, FieldSpec]):
    """An ordered, immutable set of field specs, looked up by camelCase or snake_case name.

    Examples:
        >>> COLOMBIAN_LEADS["nivel_educativo"].name
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


COLOMBIAN_LEADS = Profile(
    "colombian_leads",
    [
        FieldSpec(
            "nombres",
            kind="name",
            instructions=(
                "Given names of a person. Capitalise each word; keep every letter and every "
                "accent exactly as typed, never add or remove accents, never translate or "
                "complete a name."
            ),
            examples=(("JUAN CARLOS", "Juan Carlos"), ("maria  jose", "Maria Jose")),
            max_length=80,
        ),
        FieldSpec(
            "apellidos",
            kind="name",
            instructions=(
                "Surnames of a person. Capitalise each word; particles de, del, de la, de los "
                "lower-case except at the start; keep accents exactly as typed."
            ),
            examples=(
                ("PEREZ GARCIA", "Perez Garcia"),
                ("DE LA CRUZ GONZÁLEZ", "De la Cruz González"),
            ),
            max_length=80,
        ),
        FieldSpec(
            "direccion",
            kind="address",
            instructions=(
                "A Colombian urban or rural address. Use the form 'Calle 45A Bis # 12 - 30 Sur', "
                "street types Calle, Cra., Av., Av. Calle, Av. Cra., Diagonal, Transversal; "
                "complements Apto., Int., Torre, Casa after the plate. Keep every digit, in order."
            ),
            examples=(
                ("CRA 15 NO 100 25", "Cra. 15 # 100 - 25"),
                ("cl 25 sur no. 18-8 int 1", "Calle 25 Sur # 18 - 8 Int. 1"),
            ),
        ),
        FieldSpec(
            "ciudad",
            kind="place",
            instructions=(
                "A Colombian municipality. Answer its official name with accents; Bogotá is "
                "'Bogotá D.C.'. Leave a place you do not recognise as typed, capitalised."
            ),
            examples=(("bogota", "Bogotá D.C."), ("MEDELLIN", "Medellín")),
            max_length=60,
        ),
        FieldSpec(
            "nivelEducativo",
            kind="category",
            instructions=(
                "The highest education level completed. Answer exactly one of the labels."
            ),
            examples=(
                ("profesional universitario", "Profesional"),
                ("bachiller academico", "Bachiller"),
            ),
            labels=EDUCATION_LEVELS,
            max_length=40,
        ),
        FieldSpec(
            "ocupacionActual",
            kind="free_text",
            instructions=(
                "Current occupation or job title. Expand abbreviations (Ing., Lic., Adm., Tec., "
                "Aux.), capitalise words, keep acronyms; do not invent a different occupation."
            ),
            examples=(
                ("Ing. Sistemas", "Ingeniero de Sistemas"),
                ("aux contable", "Auxiliar Contable"),
            ),
            max_length=120,
        ),
        FieldSpec(
            "empresa",
            kind="free_text",
            instructions=(
                "Company or institution name. Known acronyms upper-case (SENA, EPM); legal "
                "suffixes as S.A.S., S.A., Ltda.; otherwise capitalise words; never replace it "
                "with a different organisation."
            ),
            examples=(("sena", "SENA"), ("servicios del valle sas", "Servicios del Valle S.A.S.")),
            max_length=120,
        ),
    ],
)
"""The seven fields of the seed's web-form leads, in the seed's order."""
