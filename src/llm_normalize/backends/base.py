"""The backend contract: one synchronous, thread-safe call, `ModelRequest -> ModelResponse`.

A backend turns one request into one response and nothing else: no retries, no batching,
no parsing. Retries are a wrapper (`llm_normalize.backends.retry.RetryingBackend`), batching
and parsing are the pipeline's. Any object with a `model_id` attribute and a `complete`
method is a backend (a `Protocol`), so user backends and fakes never import ours.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llm_normalize.messages import (
    Item,
    Message,
    ModelRequest,
    ModelResponse,
    StopReason,
    ToolSpec,
    Usage,
)

__all__ = [
    "Backend",
    "Item",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "StopReason",
    "ToolSpec",
    "Usage",
]


@runtime_checkable
class Backend(Protocol):
    """Turn one request into one response.

    Implementations must be safe to call from several threads at once, and raise the
    `llm_normalize.exceptions.BackendError` subclasses, marked retryable or not, for failures.
    """

    @property
    def model_id(self) -> str:
        """The model this backend calls (used for the prompt cache key and the price table)."""
        ...

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Send `request` to the model and return its answer."""
        ...
