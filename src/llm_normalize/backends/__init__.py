"""Model backends: the `Backend` protocol, its request and response types, and implementations.

`BedrockBackend` imports boto3 only when it is created; `FakeBackend` needs nothing.
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

__all__ = [
    "Backend",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "StopReason",
    "ToolSpec",
    "Usage",
]
