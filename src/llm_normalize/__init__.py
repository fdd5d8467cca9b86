"""llm_normalize: normalize messy web-form records with deterministic rules and an LLM.

The public API is re-exported here; see the documentation for a tour.
AWS clients (boto3) and optional extras are imported only where they are used.
The names are imported on first use (PEP 562): `import llm_normalize` loads neither pydantic
nor the post-processors and their data, and `from llm_normalize import Normalizer` loads
what the normalizer needs.
"""

import importlib
import logging
from typing import TYPE_CHECKING, Any

from llm_normalize._version import __version__
from llm_normalize.exceptions import (
    BackendError,
    ConfigurationError,
    InputFormatError,
    LLMNormalizeError,
    ModelFailedError,
    ResponseParseError,
    UnknownFieldError,
    UnknownPostProcessorError,
)

if TYPE_CHECKING:
    from llm_normalize.caches import (
        CacheKey,
        LRUCache,
        NullCache,
        PurgeableCache,
        ValueCache,
        cache_key,
    )
    from llm_normalize.config import NormalizationConfig
    from llm_normalize.deadline import Deadline
    from llm_normalize.dispatch import Budget, ModelDispatcher
    from llm_normalize.fields import FieldKind, FieldSpec, Profile, Strategy
    from llm_normalize.guard import Guard, Verdict
    from llm_normalize.parsing import ParsedAnswer, ResponseParser, TruncatedResponseError
    from llm_normalize.pipeline import NormalizationRun, Normalizer
    from llm_normalize.postprocessors import Outcome, PostProcessorRegistry
    from llm_normalize.profiles.colombia import COLOMBIAN_LEADS, default_registry
    from llm_normalize.prompt import Item, PromptBuilder
    from llm_normalize.ratelimit import AdaptiveRateLimiter, FixedIntervalLimiter, RateLimiter
    from llm_normalize.records import FieldResult, NormalizedRecord, Source
    from llm_normalize.report import RunCounts, RunReport

# Where each public name is defined (or re-exported), imported when first asked for.
_LAZY: dict[str, str] = {
    "CacheKey": "llm_normalize.caches",
    "LRUCache": "llm_normalize.caches",
    "NullCache": "llm_normalize.caches",
    "PurgeableCache": "llm_normalize.caches",
    "ValueCache": "llm_normalize.caches",
    "cache_key": "llm_normalize.caches",
    "NormalizationConfig": "llm_normalize.config",
    "Deadline": "llm_normalize.deadline",
    "Budget": "llm_normalize.dispatch",
    "ModelDispatcher": "llm_normalize.dispatch",
    "FieldKind": "llm_normalize.fields",
    "FieldSpec": "llm_normalize.fields",
    "Profile": "llm_normalize.fields",
    "Strategy": "llm_normalize.fields",
    "Guard": "llm_normalize.guard",
    "Verdict": "llm_normalize.guard",
    "ParsedAnswer": "llm_normalize.parsing",
    "ResponseParser": "llm_normalize.parsing",
    "TruncatedResponseError": "llm_normalize.parsing",
    "NormalizationRun": "llm_normalize.pipeline",
    "Normalizer": "llm_normalize.pipeline",
    "Outcome": "llm_normalize.postprocessors",
    "PostProcessorRegistry": "llm_normalize.postprocessors",
    "COLOMBIAN_LEADS": "llm_normalize.profiles.colombia",
    "default_registry": "llm_normalize.profiles.colombia",
    "Item": "llm_normalize.prompt",
    "PromptBuilder": "llm_normalize.prompt",
    "AdaptiveRateLimiter": "llm_normalize.ratelimit",
    "FixedIntervalLimiter": "llm_normalize.ratelimit",
    "RateLimiter": "llm_normalize.ratelimit",
    "FieldResult": "llm_normalize.records",
    "NormalizedRecord": "llm_normalize.records",
    "Source": "llm_normalize.records",
    "RunCounts": "llm_normalize.report",
    "RunReport": "llm_normalize.report",
}

__all__ = [
    "COLOMBIAN_LEADS",
    "AdaptiveRateLimiter",
    "BackendError",
    "Budget",
    "CacheKey",
    "ConfigurationError",
    "Deadline",
    "FieldKind",
    "FieldResult",
    "FieldSpec",
    "FixedIntervalLimiter",
    "Guard",
    "InputFormatError",
    "Item",
    "LLMNormalizeError",
    "LRUCache",
    "ModelDispatcher",
    "ModelFailedError",
    "NormalizationConfig",
    "NormalizationRun",
    "NormalizedRecord",
    "Normalizer",
    "NullCache",
    "Outcome",
    "ParsedAnswer",
    "PostProcessorRegistry",
    "Profile",
    "PromptBuilder",
    "PurgeableCache",
    "RateLimiter",
    "ResponseParseError",
    "ResponseParser",
    "RunCounts",
    "RunReport",
    "Source",
    "Strategy",
    "TruncatedResponseError",
    "UnknownFieldError",
    "UnknownPostProcessorError",
    "ValueCache",
    "Verdict",
    "__version__",
    "cache_key",
    "default_registry",
]

# A library configures no logging: its warnings go where the application sends them, and
# nowhere (not to Python's unprefixed last-resort handler) when it configures none.
logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
