"""`FakeBackend`: a model that answers offline, for tests, benchmarks and dry runs.

It implements the `Backend` protocol like `BedrockBackend` does, so code under test cannot
tell the difference, and it needs neither network nor credentials:

- by default it **echoes**: every item is answered with its raw value, so the rules alone
  decide (`FakeBackend.echo`);
- a **responder** callable, ``(ModelRequest) -> str | ModelResponse``, answers instead;
- it can simulate **latency** (through an injectable ``sleep``), a **requests-per-second
  limit** past which it raises `BackendThrottledError` (through an injectable ``clock``),
  and **scripted faults**, one per call;
- it reports a realistic `Usage`, estimated from characters like
  `llm_normalize.messages.estimate_request_tokens`, and records every request it saw.

Examples:
    >>> from llm_normalize.prompt import Item, PromptBuilder
    >>> backend = FakeBackend()
    >>> response = backend.complete(PromptBuilder().build([Item("0", "ciudad", "bogota")]))
    >>> response.tool_input
    {'items': [{'id': '0', 'value': 'bogota'}]}
    >>> backend.calls
    1
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeAlias

from llm_normalize.exceptions import (
    BackendThrottledError,
    BackendTimeoutError,
    ConfigurationError,
)
from llm_normalize.messages import (
    ModelRequest,
    ModelResponse,
    Usage,
    estimate_request_tokens,
    estimate_tokens,
)

__all__ = ["FakeBackend", "Responder"]

Responder: TypeAlias = Callable[[ModelRequest], str | ModelResponse]
"""Answers one request: a string (JSON or not) or a complete `ModelResponse`."""


class FakeBackend:
    """Answer like a model would, offline. Echo by default; thread-safe; records requests.

    Args:
        responder: Answers each request; `None` answers with `FakeBackend.echo`. A string
            answer to a request with a tool becomes the tool input if it is a JSON object,
            and text otherwise; a `ModelResponse` is returned as it is, with `model_id`
            filled in when empty.
        latency_s: Seconds each call takes (slept through `sleep`), except throttled calls,
            which fail at once as the real service's do. A request whose `timeout_s` is
            shorter waits that long, then raises `BackendTimeoutError`.
        requests_per_second: At most this many calls are answered in any one-second window
            (for a rate below 1, one call per ``1 / rate`` seconds); a call past the limit
            raises `BackendThrottledError` and does not count. `None`: no limit.
        faults: A script, one entry per call in order: an exception to raise, or `None` to
            answer normally. Once the script is used up, every call is answered normally.
        model_id: The model id this backend reports.
        sleep: The function used to wait (inject a recorder in tests).
        clock: A monotonic clock in seconds, for the rate limit and the reported latency.

    Attributes:
        requests: A copy of every request received so far, in order (throttled and faulted
            calls included: the service saw them too).
        calls: How many times `complete` was called.

    Raises:
        ConfigurationError: A negative latency or a rate that is not positive.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency_s: float = 0.0,
        requests_per_second: float | None = None,
        faults: Iterable[BaseException | None] = (),
        model_id: str = "fake",
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if latency_s < 0:
            raise ConfigurationError("latency_s must not be negative")
        if requests_per_second is not None and not requests_per_second > 0:
            raise ConfigurationError("requests_per_second must be positive")
        self._responder = responder
        self._latency_s = latency_s
        self._model_id = model_id
        self._sleep = sleep
        self._clock = clock
        self._faults: deque[BaseException | None] = deque(faults)
        if requests_per_second is None:
            self._window_s, self._capacity = 0.0, 0
        elif requests_per_second >= 1:
            self._window_s, self._capacity = 1.0, math.floor(requests_per_second)
        else:
            self._window_s, self._capacity = 1.0 / requests_per_second, 1
        self._requests_per_second = requests_per_second
        self._answered_at: deque[float] = deque()
        self._requests: list[ModelRequest] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"FakeBackend(model_id={self._model_id!r}, latency_s={self._latency_s!r}, "
            f"requests_per_second={self._requests_per_second!r})"
        )

    @property
    def model_id(self) -> str:
        """The model id this backend reports."""
        return self._model_id

    def with_model_id(self, model_id: str) -> FakeBackend:
        """A fake like this one, reporting `model_id`.

        Both share the responder, the script of faults, the rate limit window and the record
        of requests.
        """
        other = copy.copy(self)
        other._model_id = model_id
        return other

    @property
    def requests(self) -> list[ModelRequest]:
        """A copy of every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> int:
        """How many times `complete` was called."""
        with self._lock:
            return len(self._requests)

    @staticmethod
    def echo(request: ModelRequest) -> str:
        """Answer every item of `request` with its raw value, as JSON text.

        A custom responder can start from it and change a few values. It reads the
        request's structured `items`, never the prompt's text.

        Raises:
            ConfigurationError: `request` carries no items (it was not built by
                `PromptBuilder`, nor given `items=`).
        """
        if not request.items:
            raise ConfigurationError(
                "the request carries no items to echo; build it with PromptBuilder "
                "or pass ModelRequest(items=...)"
            )
        answer = {"items": [{"id": item.id, "value": item.value} for item in request.items]}
        return json.dumps(answer, ensure_ascii=False)

    def _admit(self, request: ModelRequest, now: float) -> tuple[BaseException | None, bool]:
        """Record the call; return its scripted fault, if any, and whether it is throttled."""
        with self._lock:
            self._requests.append(request)
            fault = self._faults.popleft() if self._faults else None
            if fault is not None or not self._capacity:
                return fault, False
            while self._answered_at and self._answered_at[0] <= now - self._window_s:
                self._answered_at.popleft()
            if len(self._answered_at) >= self._capacity:
                return None, True
            self._answered_at.append(now)
            return None, False

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer `request` (see the class docstring)."""
        started = self._clock()
        fault, throttled = self._admit(request, started)
        if throttled:
            raise BackendThrottledError(
                f"fake rate limit of {self._requests_per_second} requests per second exceeded",
                code="ThrottlingException",
            )
        if self._latency_s:
            timeout = request.timeout_s
            if timeout is not None and timeout < self._latency_s:
                # As a real client's read timeout would: wait that long, then give up.
                self._sleep(max(timeout, 0.0))
                raise BackendTimeoutError(
                    f"the fake model took longer than the call's {timeout:.3f} s timeout",
                    code="ReadTimeoutError",
                )
            self._sleep(self._latency_s)
        if fault is not None:
            raise fault
        answer = (self._responder or FakeBackend.echo)(request)
        latency = max(0.0, self._clock() - started)
        if isinstance(answer, ModelResponse):
            if answer.model_id:
                return answer
            return dataclasses.replace(answer, model_id=self._model_id)
        if not isinstance(answer, str):
            raise TypeError(
                f"a FakeBackend responder must return str or ModelResponse, "
                f"not {type(answer).__name__}"
            )
        usage = Usage(
            input_tokens=estimate_request_tokens(request),
            output_tokens=estimate_tokens(len(answer)),
        )
        if request.tool is not None:
            try:
                decoded = json.loads(answer)
            except (ValueError, RecursionError):
                decoded = None
            if isinstance(decoded, dict):
                return ModelResponse(
                    tool_input=decoded,
                    stop_reason="tool_use",
                    usage=usage,
                    model_id=self._model_id,
                    latency_s=latency,
                )
        return ModelResponse(
            text=answer,
            stop_reason="end_turn",
            usage=usage,
            model_id=self._model_id,
            latency_s=latency,
        )
