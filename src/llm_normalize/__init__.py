"""llm_normalize: normalize messy web-form records with deterministic rules and an LLM.

The public API is re-exported here; see the documentation for a tour.
AWS clients (boto3) and optional extras are imported only where they are used.
"""

from llm_normalize._version import __version__
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import (
    ConfigurationError,
    InputFormatError,
    LLMNormalizeError,
    UnknownFieldError,
    UnknownPostProcessorError,
)
from llm_normalize.fields import COLOMBIAN_LEADS, FieldKind, FieldSpec, Profile, Strategy
from llm_normalize.pipeline import FieldResult, NormalizedRecord, Normalizer, RunSummary, Source
from llm_normalize.postprocessors import Outcome, PostProcessorRegistry, default_registry

__all__ = [
    "COLOMBIAN_LEADS",
    "ConfigurationError",
    "FieldKind",
    "FieldResult",
    "FieldSpec",
    "InputFormatError",
    "LLMNormalizeError",
    "NormalizationConfig",
    "NormalizedRecord",
    "Normalizer",
    "Outcome",
    "PostProcessorRegistry",
    "Profile",
    "RunSummary",
    "Source",
    "Strategy",
    "UnknownFieldError",
    "UnknownPostProcessorError",
    "__version__",
    "default_registry",
]
