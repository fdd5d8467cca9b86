"""Deterministic post-processors: pure, total, idempotent `str -> str` functions.

Each built-in has a confidence-aware twin (`assess_*`, returning an `Outcome`) that the
pipeline uses to decide which values a model should look at.
`default_registry` maps the seven seed fields to their chains.

The modules of this package sit below the field profiles: none of them imports
`llm_normalize.profiles`. `DEFAULT_CHAINS` and `default_registry` are derived from the
Colombian lead profile, so this package hands them out lazily, on first access.
"""

from typing import TYPE_CHECKING

from llm_normalize.postprocessors.address import (
    ADDRESS_STYLES,
    AddressStyle,
    assess_address,
    make_address_normalizer,
    normalize_address,
)
from llm_normalize.postprocessors.base import (
    Assessor,
    Outcome,
    PostProcessor,
    assess,
    assessed_by,
    assessor_of,
)
from llm_normalize.postprocessors.education import (
    EDUCATION_LEVELS,
    assess_education_level,
    normalize_education_level,
)
from llm_normalize.postprocessors.occupations import assess_occupation, normalize_occupation
from llm_normalize.postprocessors.organizations import (
    assess_institution,
    make_institution_normalizer,
    normalize_institution,
)
from llm_normalize.postprocessors.places import (
    Gazetteer,
    Place,
    assess_city,
    make_city_normalizer,
    normalize_city,
)
from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.postprocessors.text import assess_name, capitalize_words, clean_text, fold

if TYPE_CHECKING:
    from llm_normalize.profiles.colombia import DEFAULT_CHAINS as DEFAULT_CHAINS
    from llm_normalize.profiles.colombia import default_registry as default_registry

__all__ = [
    "ADDRESS_STYLES",
    "DEFAULT_CHAINS",
    "EDUCATION_LEVELS",
    "AddressStyle",
    "Assessor",
    "Gazetteer",
    "Outcome",
    "Place",
    "PostProcessor",
    "PostProcessorRegistry",
    "assess",
    "assess_address",
    "assess_city",
    "assess_education_level",
    "assess_institution",
    "assess_name",
    "assess_occupation",
    "assessed_by",
    "assessor_of",
    "capitalize_words",
    "clean_text",
    "default_registry",
    "fold",
    "make_address_normalizer",
    "make_city_normalizer",
    "make_institution_normalizer",
    "normalize_address",
    "normalize_city",
    "normalize_education_level",
    "normalize_institution",
    "normalize_occupation",
]


def __getattr__(name: str) -> object:
    # Lazy, because the profile imports this package's modules: an eager import here would
    # run while the profile is half-built whenever the profile is imported first.
    if name in {"DEFAULT_CHAINS", "default_registry"}:
        from llm_normalize.profiles import colombia

        return getattr(colombia, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
