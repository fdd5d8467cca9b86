"""The backend contract: one synchronous, thread-safe call, `ModelRequest -> ModelResponse`.

A backend turns one request into one response and nothing else: no retries, no batching,
no parsing. Retries are a wrapper (`llm_normalize.backends.retry.RetryingBackend`), batching
and parsing are the pipeline's. Any object with a `model_id` attribute and a `complete`
method is a backend (a `Protocol`), so user backends and fakes never import ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "StopReason",
    "ToolSpec",
    "Usage",
]

StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "other"]
"""Why the model stopped. `max_tokens` means the answer was cut off and must not be trusted."""


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of the conversation sent to the model."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model is forced to call, so that its answer is JSON matching `input_schema`.

    Attributes:
        name: The tool name (letters, digits, `_` and `-`).
        description: What the tool is for, shown to the model.
        input_schema: A JSON schema of the tool's input (e.g. from a pydantic model).
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a backend needs for one model call.

    Attributes:
        system: The system prompt.
        messages: The conversation, usually one user message holding the fenced data.
        tool: When set, the model must answer by calling this tool (structured output);
            when `None`, it answers in text (JSON, possibly fenced).
        max_tokens: The most tokens the answer may have.
        temperature: Sampling temperature; 0 for normalization.
        metadata: PII-free labels for logs and fakes (e.g. ``{"batch": "3"}``); never sent
            to the model.
    """

    system: str
    messages: tuple[Message, ...]
    tool: ToolSpec | None = None
    max_tokens: int = 1000
    temperature: float = 0.0
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a call consumed, as the service counted them."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """One model answer.

    Attributes:
        text: The answer's text blocks, joined (empty when it only called the tool).
        tool_input: The input the model gave the forced tool, already decoded from JSON.
        stop_reason: Why the model stopped (see `StopReason`).
        usage: Tokens consumed by this call.
        model_id: The model that answered.
        latency_s: Seconds from sending the request to having the answer.
    """

    text: str = ""
    tool_input: Mapping[str, Any] | None = None
    stop_reason: StopReason | None = None
    usage: Usage = field(default_factory=Usage)
    model_id: str = ""
    latency_s: float = 0.0


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
