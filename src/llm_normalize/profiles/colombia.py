"""The Colombian lead profile: the seed's seven fields, each defined once.

A field's spec, the instructions and examples a model sees, its post-processor chain and
its quality bands all live in its `FieldSpec` here. What other modules need is derived:

- `DEFAULT_CHAINS` and the read-only `default_registry` from the specs' chains;
- `llm_normalize.config.DEFAULT_FIELDS` from the profile's field names;
- the quality report's default bands from the specs' bands.

To change a field for your own runs, derive: `COLOMBIAN_LEADS.with_fields(...)` for specs,
`default_registry.derive()` for chains. `direccion` is written in the seed's abbreviated
address style; `address_spec(style)`, `colombian_leads(style)` and `default_registry_for(style)`
give the field, the profile and the registry in another.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final

from llm_normalize.fields import FieldSpec, Profile
from llm_normalize.postprocessors.address import (
    DEFAULT_ADDRESS_STYLE,
    AddressStyle,
    _styled_normalizer,
)
from llm_normalize.postprocessors.address_styles import (
    COMPLEMENT_SPELLINGS,
    STREET_TYPE_SPELLINGS,
    check_address_style,
    warn_if_deprecated,
)
from llm_normalize.postprocessors.base import PostProcessor
from llm_normalize.postprocessors.education import EDUCATION_LEVELS, normalize_education_level
from llm_normalize.postprocessors.occupations import normalize_occupation
from llm_normalize.postprocessors.organizations import normalize_institution
from llm_normalize.postprocessors.places import normalize_city
from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.postprocessors.text import capitalize_words

__all__ = [
    "COLOMBIAN_LEADS",
    "DEFAULT_CHAINS",
    "address_spec",
    "colombian_leads",
    "default_registry",
    "default_registry_for",
]

# The quality bands were measured on examples/leads.jsonl with the rules alone, then
# widened: a healthy run of messy Colombian form data lands well inside them.

# The form the model is told and the examples it is shown, per address style: what the rules
# write (a test checks it; the legacy form is the one earlier versions told), written out so
# that importing the package runs no rules.
_ADDRESS_EXAMPLES: Final[Mapping[AddressStyle, tuple[str, str, str]]] = {
    "abbreviated": (
        "Cl. 45A Bis Sur # 12 - 30",
        "Cra. 15 # 100 - 25",
        "Cl. 25 Sur # 18 - 8 Int. 1",
    ),
    "full": (
        "Calle 45A Bis Sur # 12 - 30",
        "Carrera 15 # 100 - 25",
        "Calle 25 Sur # 18 - 8 Interior 1",
    ),
    "code": ("CL 45A BIS SUR 12 30", "KR 15 100 25", "CL 25 SUR 18 8 IN 1"),
    "legacy": ("Calle 45A Bis # 12 - 30 Sur", "Cra. 15 # 100 - 25", "Calle 25 Sur # 18 - 8 Int. 1"),
}
_ADDRESS_INPUTS: Final = ("CRA 15 NO 100 25", "cl 25 sur no. 18-8 int 1")
# The street types and complements the instructions name.
_ADDRESS_TYPES: Final = ("Calle", "Cra.", "Av.", "Av. Calle", "Av. Cra.", "Diagonal", "Transversal")
_ADDRESS_COMPLEMENTS: Final = ("Apto.", "Int.", "Torre", "Casa")
# The instructions of earlier versions, kept word for word so that the legacy style keeps its
# prompt version (and the answers cached under it).
_LEGACY_ADDRESS_INSTRUCTIONS: Final = (
    "A Colombian urban or rural address. Use the form 'Calle 45A Bis # 12 - 30 Sur', "
    "street types Calle, Cra., Av., Av. Calle, Av. Cra., Diagonal, Transversal; "
    "complements Apto., Int., Torre, Casa after the plate. Keep every digit, in order."
)


def _address_instructions(style: AddressStyle) -> str:
    if style == "legacy":
        return _LEGACY_ADDRESS_INSTRUCTIONS
    form = _ADDRESS_EXAMPLES[style][0]
    types = []
    for canonical in _ADDRESS_TYPES:
        spelled = getattr(STREET_TYPE_SPELLINGS[canonical], style)
        # "Ac." and "AK" do not say which avenue they are: name it.
        named = style != "full" and canonical.startswith("Av. ")
        types.append(f"{spelled} ({STREET_TYPE_SPELLINGS[canonical].full})" if named else spelled)
    complements = ", ".join(getattr(COMPLEMENT_SPELLINGS[c], style) for c in _ADDRESS_COMPLEMENTS)
    manner = {
        "abbreviated": "",
        "full": ", every word written out",
        "code": ", in capitals with no '#' or '-' (the cadastral codes)",
    }[style]
    return (
        f"A Colombian urban or rural address. Use the form '{form}'{manner}: street types "
        f"{', '.join(types)}; complements {complements} after the plate. Keep every digit, "
        "in order."
    )


@functools.cache
def _address_spec(style: AddressStyle) -> FieldSpec:
    return FieldSpec(
        "direccion",
        kind="address",
        instructions=_address_instructions(style),
        examples=tuple(zip(_ADDRESS_INPUTS, _ADDRESS_EXAMPLES[style][1:], strict=True)),
        chain=(_styled_normalizer(style),),
        bands={"coverage": (0.8, 1.0), "improvement": (0.5, 1.0)},
        aliases=(
            "Dirección",
            "Dirección de residencia",
            "Dirección residencia",
            "Domicilio",
            "Dirección de domicilio",
            "Address",
        ),
    )


def address_spec(style: AddressStyle = DEFAULT_ADDRESS_STYLE) -> FieldSpec:
    """The `direccion` field written in an address style: its chain, instructions and examples.

    The chain is `make_address_normalizer(style)`, and the model is told the style's form and
    shown examples the rules write in it. ``"legacy"`` is deprecated (`DeprecationWarning`).

    Raises:
        ConfigurationError: `style` is not an address style.

    Examples:
        >>> address_spec("code").examples[0]
        ('CRA 15 NO 100 25', 'KR 15 100 25')
    """
    style = check_address_style(style)
    warn_if_deprecated(style)
    return _address_spec(style)


COLOMBIAN_LEADS: Final = Profile(
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
            chain=(capitalize_words,),
            bands={"coverage": (0.95, 1.0), "improvement": (0.2, 0.9)},
            aliases=("Nombre", "Nombre(s)", "Nombres completos", "Primer nombre", "First name"),
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
            chain=(capitalize_words,),
            bands={"coverage": (0.95, 1.0), "improvement": (0.2, 0.9)},
            aliases=("Apellido", "Apellido(s)", "Apellidos completos", "Last name", "Surname"),
        ),
        _address_spec(DEFAULT_ADDRESS_STYLE),
        FieldSpec(
            "ciudad",
            kind="place",
            instructions=(
                "A Colombian municipality. Answer its official name with accents; Bogotá is "
                "'Bogotá D.C.'. Leave a place you do not recognise as typed, capitalised."
            ),
            examples=(("bogota", "Bogotá D.C."), ("MEDELLIN", "Medellín")),
            max_length=60,
            chain=(normalize_city,),
            bands={"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
            aliases=(
                "Ciudad de residencia",
                "Municipio",
                "Municipio de residencia",
                "Ciudad/Municipio",
                "City",
            ),
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
            chain=(normalize_education_level,),
            bands={"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
            aliases=(
                "Nivel educativo",
                "Nivel de estudios",
                "Nivel académico",
                "Escolaridad",
                "Último nivel educativo",
                "Education level",
            ),
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
            chain=(normalize_occupation,),
            bands={"coverage": (0.85, 1.0), "improvement": (0.2, 0.95)},
            aliases=(
                "Ocupación",
                "Ocupación actual",
                "Profesión",
                "Profesión u oficio",
                "Cargo",
                "Occupation",
            ),
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
            chain=(normalize_institution,),
            bands={"coverage": (0.85, 1.0), "improvement": (0.2, 0.9)},
            aliases=(
                "Empresa donde trabaja",
                "Empresa actual",
                "Compañía",
                "Lugar de trabajo",
                "Institución",
                "Company",
            ),
        ),
    ],
)
"""The seven fields of the seed's web-form leads, in the seed's order.

Examples:
    >>> COLOMBIAN_LEADS["nivel_educativo"].name
    'nivelEducativo'
    >>> COLOMBIAN_LEADS["ciudad"].bands["coverage"]
    (0.9, 1.0)
"""

DEFAULT_CHAINS: Final[Mapping[str, tuple[PostProcessor, ...]]] = COLOMBIAN_LEADS.chains
"""The built-in chain of each seed field, as `default_registry` holds them."""

default_registry: Final = PostProcessorRegistry(DEFAULT_CHAINS, read_only=True)
"""The built-in chains of the seven seed fields. Read-only: `derive()` it to customise."""


def colombian_leads(address_style: AddressStyle = DEFAULT_ADDRESS_STYLE) -> Profile:
    """`COLOMBIAN_LEADS` with its `direccion` field in `address_style` (see `address_spec`).

    The default style gives `COLOMBIAN_LEADS` itself, and each style always the same profile.
    The deprecated ``"legacy"`` style is not warned about here: `Normalizer` does that.

    Raises:
        ConfigurationError: `address_style` is not an address style.
    """
    return _styled_profile(check_address_style(address_style))


def default_registry_for(
    address_style: AddressStyle = DEFAULT_ADDRESS_STYLE,
) -> PostProcessorRegistry:
    """`default_registry` with the `direccion` chain of `address_style`; read-only too.

    The default style gives `default_registry` itself, and each style always the same registry.
    The deprecated ``"legacy"`` style is not warned about here: `Normalizer` does that.

    Raises:
        ConfigurationError: `address_style` is not an address style.
    """
    return _styled_registry(check_address_style(address_style))


@functools.cache
def _styled_profile(style: AddressStyle) -> Profile:
    if style == DEFAULT_ADDRESS_STYLE:
        return COLOMBIAN_LEADS
    return COLOMBIAN_LEADS.with_fields(_address_spec(style))


@functools.cache
def _styled_registry(style: AddressStyle) -> PostProcessorRegistry:
    if style == DEFAULT_ADDRESS_STYLE:
        return default_registry
    return PostProcessorRegistry(_styled_profile(style).chains, read_only=True)
