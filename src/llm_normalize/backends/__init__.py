"""Model backends: the `Backend` protocol, its request and response types, and implementations.

`BedrockBackend` imports boto3 only when it is created, `OpenAIBackend` the ``openai`` SDK
(the ``openai`` extra); `FakeBackend` needs nothing;
`RetryingBackend` adds retries to any backend.
"""

from llm_normalize.backends.base import (
    Backend,
    Message,
    ModelRequest,
    ModelResponse,
    StopReason,
    ToolSpec,
    Usage,
)
from llm_normalize.backends.bedrock import DEFAULT_MODEL_ID, BedrockApi, BedrockBackend
from llm_normalize.backends.fake import FakeBackend, Responder
from llm_normalize.backends.openai import AnswerMode, OpenAIBackend
from llm_normalize.backends.retry import OnRetry, RetryingBackend, RetryPolicy

__all__ = [
    "DEFAULT_MODEL_ID",
    "AnswerMode",
    "Backend",
    "BedrockApi",
    "BedrockBackend",
    "FakeBackend",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "OnRetry",
    "OpenAIBackend",
    "Responder",
    "RetryPolicy",
    "RetryingBackend",
    "StopReason",
    "ToolSpec",
    "Usage",
]
