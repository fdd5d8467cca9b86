"""The messages between the pipeline and a model: requests, responses, usage, token estimates.

These frozen dataclasses are the whole vocabulary a `Backend` speaks. A `ModelRequest` carries
the prompt (system text, messages, an optional forced tool) and, for offline backends, the
same items in structured form; a `ModelResponse` carries the answer and its `Usage`.
Nothing here imports the rest of the package.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "CHARS_PER_TOKEN",
    "TOOL_USE_OVERHEAD_TOKENS",
    "Item",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "StopReason",
    "ToolSpec",
    "Usage",
    "estimate_request_tokens",
    "estimate_tokens",
]

CHARS_PER_TOKEN: Final = 3.3
"""Characters per token of Spanish, JSON-ish prompt text: a heuristic for estimates only.

The authoritative count is the `Usage` a real backend reports; no offline tokenizer for
Claude exists.
"""

TOOL_USE_OVERHEAD_TOKENS: Final = 340
"""Input tokens the service adds to a call that forces a tool (the hidden tool-use system
prompt Anthropic documents for Claude 3 Haiku with ``tool_choice`` ``tool``/``any``)."""

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
class Item:
    """One value to normalize, as the model sees it.

    Attributes:
        id: A short id, local to one request (``"0"``, ``"1"``, ...).
        field: The field name (as the profile spells it).
        value: The raw value.
    """

    id: str
    field: str
    value: str


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
        items: The items the messages carry, in structured form, for backends that answer
            without reading the prompt (`FakeBackend`); never sent as such.
        timeout_s: The most seconds this call may take (the run's time left before its
            deadline); a backend gives up with `BackendTimeoutError` past it. `None`: the
            backend's own timeout.
    """

    system: str
    messages: tuple[Message, ...]
    tool: ToolSpec | None = None
    max_tokens: int = 1000
    temperature: float = 0.0
    metadata: Mapping[str, str] = field(default_factory=dict)
    items: tuple[Item, ...] = ()
    timeout_s: float | None = None


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


def estimate_tokens(chars: int) -> int:
    """Estimate the tokens of `chars` characters of prompt or answer text (rounded up).

    An estimate (`CHARS_PER_TOKEN` characters per token), not a count.

    Examples:
        >>> estimate_tokens(33)
        10
    """
    return math.ceil(chars / CHARS_PER_TOKEN) if chars > 0 else 0


def estimate_request_tokens(request: ModelRequest) -> int:
    """Estimate the input tokens a request costs: system, messages and, if any, the tool.

    A forced tool costs its schema and the service's hidden tool-use prompt
    (`TOOL_USE_OVERHEAD_TOKENS`). The `FakeBackend` reports this number as its usage.
    """
    chars = len(request.system) + sum(len(message.content) for message in request.messages)
    overhead = 0
    if request.tool is not None:
        chars += len(request.tool.name) + len(request.tool.description)
        chars += len(json.dumps(request.tool.input_schema, separators=(",", ":")))
        overhead = TOOL_USE_OVERHEAD_TOKENS
    return estimate_tokens(chars) + overhead
