"""`OpenAIBackend`: one model call on an OpenAI-compatible chat-completions server.

The official ``openai`` SDK (the ``openai`` extra) talks to OpenAI itself and to the servers
that speak its wire format: Ollama, vLLM, llama.cpp's server, LM Studio (``base_url``).

Structured answers come one of three ways (``answer_mode``):

- ``"tool"`` (default): a forced function call (``tools`` + a named ``tool_choice``) built
  from the request's `ToolSpec`; the call's arguments become `ModelResponse.tool_input`.
- ``"json_schema"``: ``response_format={"type": "json_schema", ...}`` with the tool's input
  schema; the answer is JSON text (`ModelResponse.text`).
- ``"json"``: no tool and no response format: the prompt asks for JSON in text, which every
  server supports. The request's `ToolSpec` is ignored.

The backend makes exactly one HTTP request per `OpenAIBackend.complete` call: the client it
builds has ``max_retries=0``, because retries belong to
`llm_normalize.backends.retry.RetryingBackend`. An injected client keeps its own retry
configuration. ``openai`` is imported when a backend is created, never when this module is.

Errors are translated into the `llm_normalize.exceptions.BackendError` subclasses. Their
messages name the model, the server's host and the HTTP status, never the server's own
message (which may echo the request) nor the API key.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn, get_args
from urllib.parse import urlsplit

from llm_normalize.backends._wire import json_document, token_count
from llm_normalize.backends.base import ModelRequest, ModelResponse, StopReason, Usage
from llm_normalize.exceptions import (
    BackendAccessDeniedError,
    BackendError,
    BackendInvalidRequestError,
    BackendThrottledError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
    ResponseParseError,
)

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["ANSWER_MODES", "DEFAULT_API_KEY_ENV", "AnswerMode", "OpenAIBackend"]

logger = logging.getLogger(__name__)

AnswerMode = Literal["tool", "json_schema", "json"]
"""How `OpenAIBackend` asks for a structured answer (see the module docs)."""

ANSWER_MODES: Final[tuple[AnswerMode, ...]] = get_args(AnswerMode)
"""Every answer mode, in order of preference."""

DEFAULT_API_KEY_ENV: Final = "OPENAI_API_KEY"
"""The environment variable the API key is read from by default."""

_LOCAL_API_KEY: Final = "not-needed"
"""The key sent to a ``base_url`` server when none is configured (local servers ignore it)."""


class OpenAIBackend:
    """Call a model through the OpenAI chat-completions API: one request, one HTTP call.

    Thread-safe: the SDK's client is, and the backend holds no other mutable state.

    Args:
        model: The model name as the server knows it (``"gpt-4o-mini"``, ``"llama3.1:8b"``).
        base_url: The server's API root, e.g. ``"http://127.0.0.1:11434/v1"`` (Ollama);
            `None` is OpenAI itself (or ``OPENAI_BASE_URL``). Not allowed with `client`.
        api_key: The API key; default ``OPENAI_API_KEY``, and for a `base_url` server without
            one a placeholder (local servers ignore it). Not allowed with `client`.
        client: A ready ``openai.OpenAI`` client to use as is (its retries and timeouts too).
        answer_mode: ``"tool"``, ``"json_schema"`` or ``"json"`` (see the module docs).
        read_timeout_s: Seconds to wait for the answer before a `BackendTimeoutError`.
        connect_timeout_s: Seconds to wait for the connection before a `BackendTimeoutError`.

    Raises:
        ConfigurationError: An empty `model`, an unknown `answer_mode`, non-positive timeouts,
            a `client` together with `base_url` / `api_key`, or no API key for OpenAI itself.

    Examples:
        >>> backend = OpenAIBackend("llama3.1:8b", base_url="http://127.0.0.1:11434/v1")  # doctest: +SKIP
        >>> backend.complete(request).tool_input  # doctest: +SKIP
        {'items': [{'id': '0', 'value': 'Bogotá D.C.'}]}
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: OpenAI | None = None,
        answer_mode: AnswerMode = "tool",
        read_timeout_s: float = 60,
        connect_timeout_s: float = 5,
    ) -> None:
        if not model:
            raise ConfigurationError("model must not be empty")
        if answer_mode not in ANSWER_MODES:
            raise ConfigurationError(
                f"answer_mode must be one of {', '.join(ANSWER_MODES)}, not {answer_mode!r}"
            )
        if read_timeout_s <= 0 or connect_timeout_s <= 0:
            raise ConfigurationError("read_timeout_s and connect_timeout_s must be positive")
        if client is not None and (base_url is not None or api_key is not None):
            raise ConfigurationError(
                "pass either client or base_url/api_key, not both: "
                "an injected client keeps its own server and key"
            )
        if client is None:
            try:
                import openai  # only when used
            except ImportError as exc:
                raise ConfigurationError(
                    "the openai backend needs the openai package: "
                    "pip install 'llm-normalize[openai]'"
                ) from exc
            key = api_key or os.environ.get(DEFAULT_API_KEY_ENV)
            if not key:
                if base_url is None and not os.environ.get("OPENAI_BASE_URL"):
                    raise ConfigurationError(
                        f"no API key for OpenAI: set {DEFAULT_API_KEY_ENV} or pass api_key"
                    )
                key = _LOCAL_API_KEY
            client = openai.OpenAI(
                api_key=key,
                base_url=base_url,
                max_retries=0,
                timeout=_timeout(read_timeout_s, connect_timeout_s),
            )
        self._model = model
        self._client = client
        self._answer_mode: AnswerMode = answer_mode
        self._read_timeout_s = read_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._host = _host(str(client.base_url))

    @property
    def model_id(self) -> str:
        """The model this backend calls."""
        return self._model

    @property
    def answer_mode(self) -> AnswerMode:
        """How the backend asks for structured answers."""
        return self._answer_mode

    @property
    def client(self) -> OpenAI:
        """The ``openai.OpenAI`` client."""
        return self._client

    @property
    def host(self) -> str:
        """The server's host (and port), as error messages name it."""
        return self._host

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self._model!r}, host={self._host!r}, "
            f"answer_mode={self._answer_mode!r})"
        )

    def with_model_id(self, model_id: str) -> OpenAIBackend:
        """A backend like this one (same client, same answer mode, same timeouts) calling `model_id`.

        Raises:
            ConfigurationError: An empty `model_id`.
        """
        return type(self)(
            model_id,
            client=self._client,
            answer_mode=self._answer_mode,
            read_timeout_s=self._read_timeout_s,
            connect_timeout_s=self._connect_timeout_s,
        )

    def with_answer_mode(self, answer_mode: AnswerMode) -> OpenAIBackend:
        """A backend like this one asking for answers the `answer_mode` way."""
        return type(self)(
            self._model,
            client=self._client,
            answer_mode=answer_mode,
            read_timeout_s=self._read_timeout_s,
            connect_timeout_s=self._connect_timeout_s,
        )

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Send `request` to the model with one HTTP call and return its answer.

        Raises:
            BackendThrottledError: HTTP 429; retryable.
            BackendTimeoutError: Connect / read timeout, HTTP 408; retryable.
            BackendUnavailableError: HTTP 5xx, server unreachable; retryable.
            BackendInvalidRequestError: HTTP 400 / 422 (e.g. tool use or a JSON-schema
                format the model does not support); not retryable.
            BackendAccessDeniedError: HTTP 401 / 403, and 404 (unknown model); not retryable.
            BackendError: Any other failure of the call; not retryable.
            ResponseParseError: The answer has no choice, or tool arguments that are not a
                JSON object.
        """
        params = self._params(request)
        started = time.perf_counter()
        try:
            completion = self._client.chat.completions.create(**params)
        except Exception as exc:
            self._raise_translated(exc)
        latency_s = time.perf_counter() - started
        response = dataclasses.replace(self._parse(completion, request), latency_s=latency_s)
        logger.debug(
            "openai chat.completions host=%s model=%s latency_s=%.3f input_tokens=%d "
            "output_tokens=%d stop=%s",
            self._host,
            self._model,
            latency_s,
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.stop_reason,
        )
        return response

    # -- request and answer -------------------------------------------------------------

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend({"role": m.role, "content": m.content} for m in request.messages)
        params: dict[str, Any] = {
            "model": self._model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        tool = request.tool
        if tool is not None and self._answer_mode == "tool":
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": json_document(tool.input_schema),
                    },
                }
            ]
            params["tool_choice"] = {"type": "function", "function": {"name": tool.name}}
        elif tool is not None and self._answer_mode == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": tool.name,
                    "description": tool.description,
                    "schema": json_document(tool.input_schema),
                },
            }
        if request.timeout_s is not None and request.timeout_s < self._read_timeout_s:
            # The run's time left: one call may not outlive the deadline.
            params["timeout"] = _timeout(
                max(request.timeout_s, 0.001), min(self._connect_timeout_s, request.timeout_s)
            )
        return params

    def _parse(self, completion: Any, request: ModelRequest) -> ModelResponse:
        choices = getattr(completion, "choices", None)
        if not choices:
            raise ResponseParseError(
                f"chat completion of model {self._model} at {self._host} has no choices"
            )
        choice = choices[0]
        message = choice.message
        finish = choice.finish_reason
        text = message.content if isinstance(message.content, str) else ""
        tool_input: Mapping[str, Any] | None = None
        wanted = request.tool.name if request.tool is not None else None
        for call in message.tool_calls or ():
            function = getattr(call, "function", None)
            if function is None or (wanted is not None and function.name != wanted):
                continue
            arguments = function.arguments if isinstance(function.arguments, str) else ""
            try:
                decoded = json.loads(arguments)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                tool_input = decoded
            elif finish == "length":
                # Cut off mid-arguments: keep it as text, the pipeline splits and retries.
                text = text + arguments
            else:
                raise ResponseParseError(
                    f"tool arguments from model {self._model} at {self._host} are not a JSON object"
                )
            break
        usage = getattr(completion, "usage", None)
        return ModelResponse(
            text=text,
            tool_input=tool_input,
            stop_reason=_stop_reason(finish, tool_input is not None),
            usage=Usage(
                token_count(getattr(usage, "prompt_tokens", 0)),
                token_count(getattr(usage, "completion_tokens", 0)),
            ),
            model_id=self._model,
        )

    # -- errors -------------------------------------------------------------------------

    def _raise_translated(self, exc: Exception) -> NoReturn:
        import openai

        where = f"OpenAI chat completion for model {self._model} at {self._host}"
        name = type(exc).__name__
        error: BackendError
        # Order matters: APITimeoutError is an APIConnectionError.
        if isinstance(exc, openai.APITimeoutError):
            error = BackendTimeoutError(f"{where} timed out: {name}", code=name)
        elif isinstance(exc, openai.APIConnectionError):
            error = BackendUnavailableError(
                f"{where} could not reach the server: {name}", code=name
            )
        elif isinstance(exc, openai.APIStatusError):
            error = _status_error(exc, where)
        elif isinstance(exc, openai.APIResponseValidationError):
            raise ResponseParseError(f"{where}: the answer is not a chat completion") from exc
        elif isinstance(exc, openai.OpenAIError):
            error = BackendError(f"{where} failed: {name}", code=name)
        else:
            raise exc
        raise error from exc


def _status_error(exc: Any, where: str) -> BackendError:
    status = exc.status_code if isinstance(exc.status_code, int) else 0
    body = exc.body
    code: str | None = None
    if isinstance(body, dict):
        # The SDK hands over the "error" object; only its machine-readable code is kept.
        raw = body.get("code") or body.get("type")
        code = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
    code = code or type(exc).__name__
    # Deliberately not exc.message / the body's message: the server may echo the request.
    message = f"{where} failed: {code} (HTTP {status or '?'})"
    request_id = getattr(exc, "request_id", None)
    if request_id:
        message += f", request id {request_id}"
    cls: type[BackendError]
    if status == 429:
        cls = BackendThrottledError
    elif status == 408:
        cls = BackendTimeoutError
    elif status >= 500:
        cls = BackendUnavailableError
    elif status in (401, 403, 404):
        cls = BackendAccessDeniedError
    elif status in (400, 413, 422):
        cls = BackendInvalidRequestError
    else:
        cls = BackendError
    return cls(message, code=code)


def _stop_reason(finish: object, has_tool_input: bool) -> StopReason | None:
    if finish is None:
        return None
    if finish == "length":
        return "max_tokens"
    if finish in ("tool_calls", "function_call"):
        return "tool_use"
    if finish == "stop":
        # OpenAI answers a forced named tool_choice with finish_reason "stop".
        return "tool_use" if has_tool_input else "end_turn"
    return "other"


def _timeout(read_s: float, connect_s: float) -> Any:
    import openai  # the SDK's own Timeout (httpx's, re-exported)

    return openai.Timeout(read_s, connect=connect_s)


def _host(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host
