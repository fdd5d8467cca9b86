"""llm_normalize: normalize messy web-form records with deterministic rules and an LLM.

The public API is re-exported here; see the documentation for a tour.
AWS clients (boto3) and optional extras are imported only where they are used.
"""

import logging

from llm_normalize._version import __version__
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
