"""The Colombian lead profile: the seed's seven fields, each defined once.

A field's spec, the instructions and examples a model sees, its post-processor chain and
its quality bands all live in its `FieldSpec` here. What other modules need is derived:

- `DEFAULT_CHAINS` and the read-only `default_registry` from the specs' chains;
- `llm_normalize.config.DEFAULT_FIELDS` from the profile's field names;
- the quality report's default bands from the specs' bands.

To change a field for your own runs, derive: `COLOMBIAN_LEADS.with_fields(...)` for specs,
`default_registry.derive()` for chains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from llm_normalize.fields import FieldSpec, Profile
from llm_normalize.postprocessors.address import normalize_address
from llm_normalize.postprocessors.base import PostProcessor
from llm_normalize.postprocessors.education import EDUCATION_LEVELS, normalize_education_level
from llm_normalize.postprocessors.occupations import normalize_occupation
from llm_normalize.postprocessors.organizations import normalize_institution
from llm_normalize.postprocessors.places import normalize_city
from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.postprocessors.text import capitalize_words

__all__ = ["COLOMBIAN_LEADS", "DEFAULT_CHAINS", "default_registry"]

# The quality bands were measured on examples/leads.jsonl with the rules alone, then
# widened: a healthy run of messy Colombian form data lands well inside them.

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
            chain=(normalize_address,),
            bands={"coverage": (0.8, 1.0), "improvement": (0.5, 1.0)},
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
            chain=(normalize_city,),
            bands={"coverage": (0.9, 1.0), "improvement": (0.2, 0.9)},
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
