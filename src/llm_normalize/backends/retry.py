"""Retries of model calls: `RetryPolicy` (tenacity) and the `RetryingBackend` wrapper.

Who retries: this module, and only this module.
A backend makes one attempt per call (`BedrockBackend` turns botocore's own retries off),
so attempts never multiply between layers, every attempt is visible to the pipeline
(``on_retry``, where it halves its rate), and tests control the waits (``sleep=``).

What is retried: only `llm_normalize.exceptions.BackendError` instances with ``retryable=True``
(throttling, timeouts, 5xx, model not ready).
Invalid requests and access errors are raised at once; any other exception (a bug, a
`ResponseParseError`) passes through untouched.

How: exponential backoff like the seed, 1 s, 2 s, 4 s (``initial_wait_s * 2 ** (n - 1)``,
capped at ``max_wait_s``), plus a random jitter of up to ``jitter_s`` so that threads throttled
together do not come back together.
When the attempts run out, the last error is raised with ``.attempts`` set to how many
requests were sent.

A deadline (``deadline=``, a `llm_normalize.deadline.Deadline`) is never waited past: when the
next backoff would end after it, or it has passed, `DeadlineExceededError` is raised instead
of waiting, chained to the last error.

tenacity is imported on the first call, not with this module (it costs ~40 ms).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from llm_normalize.backends.base import Backend, ModelRequest, ModelResponse
from llm_normalize.deadline import StopWhen, time_left
from llm_normalize.exceptions import BackendError, ConfigurationError, DeadlineExceededError

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["OnRetry", "RetryPolicy", "RetryingBackend"]

T = TypeVar("T")

OnRetry = Callable[[BaseException, int], None]
"""Called before each wait with the error and the number of the attempt that failed (1-based)."""


class _NoTimeLeft(Exception):
    """Raised by the wait when it would end past the deadline."""


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, BackendError) and exc.retryable


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a retryable `BackendError`.

    The defaults are the seed's: 4 attempts, waiting 1 s, 2 s and 4 s (plus jitter) between.

    Attributes:
        max_attempts: Requests sent at most, the first one included (1 = no retries).
        initial_wait_s: The wait after the first failed attempt; it doubles after each one.
        max_wait_s: The longest backoff wait, before jitter.
        jitter_s: Up to this many seconds, drawn uniformly, are added to each wait.
        sleep: The function that waits (inject a no-op or a recorder in tests).

    Examples:
        >>> waits = []
        >>> policy = RetryPolicy(jitter_s=0, sleep=waits.append)
        >>> policy.call(lambda: "ok")
        'ok'
    """

    max_attempts: int = 4
    initial_wait_s: float = 1.0
    max_wait_s: float = 8.0
    jitter_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        if self.initial_wait_s < 0 or self.max_wait_s < 0 or self.jitter_s < 0:
            raise ConfigurationError("initial_wait_s, max_wait_s and jitter_s must be >= 0")
        if self.max_wait_s < self.initial_wait_s:
            raise ConfigurationError("max_wait_s must be at least initial_wait_s")

    def call(
        self,
        fn: Callable[[], T],
        *,
        on_retry: OnRetry | None = None,
        deadline: StopWhen | None = None,
    ) -> T:
        """Call `fn` until it succeeds, retrying retryable `BackendError` instances with backoff.

        Args:
            fn: The attempt; called once per attempt, from the calling thread.
            on_retry: Called before each wait as ``on_retry(error, attempt_number)``.
            deadline: No wait ends past it (a `Deadline` knows its time left; a plain
                check is asked before each wait).

        Returns:
            What `fn` returned.

        Raises:
            DeadlineExceededError: The next wait would end past `deadline`.
            BackendError: The last error, when it is not retryable or the attempts ran out;
                its ``attempts`` says how many times `fn` was called.
        """
        import tenacity  # ~40 ms: only when something is actually called

        attempts = _Attempts(fn, sleep=self.sleep, on_retry=on_retry, deadline=deadline)
        # A new Retrying per call: its statistics and state are per call, so one policy is
        # safe to share between threads.
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(
                multiplier=self.initial_wait_s, min=self.initial_wait_s, max=self.max_wait_s
            )
            + tenacity.wait_random(0, self.jitter_s),
            retry=tenacity.retry_if_exception(_is_retryable),
            before_sleep=attempts.before_sleep,
            sleep=attempts.sleep,
            reraise=True,
        )
        try:
            return retrying(attempts.attempt)
        except BackendError as exc:
            exc.attempts = attempts.count
            raise
        except _NoTimeLeft:
            error = DeadlineExceededError(
                "the run's deadline leaves no time to retry the model call",
                attempts=attempts.count,
            )
            raise error from attempts.last_error


class _Attempts(Generic[T]):
    """One `RetryPolicy.call`'s bookkeeping: the attempts sent, the last error, the waits.

    Its methods are the hooks tenacity calls: `attempt` (the call itself),
    `before_sleep` (notes the error that failed), `sleep` (the deadline-aware wait).
    """

    __slots__ = ("_deadline", "_fn", "_on_retry", "_sleep", "count", "last_error")

    def __init__(
        self,
        fn: Callable[[], T],
        *,
        sleep: Callable[[float], None],
        on_retry: OnRetry | None,
        deadline: StopWhen | None,
    ) -> None:
        self._fn = fn
        self._sleep = sleep
        self._on_retry = on_retry
        self._deadline = deadline
        self.count = 0
        self.last_error: BaseException | None = None

    def attempt(self) -> T:
        """Call `fn` once, counting the attempt."""
        self.count += 1
        return self._fn()

    def before_sleep(self, state: RetryCallState) -> None:
        """Note the error of the attempt that just failed."""
        if state.outcome is not None:
            self.last_error = state.outcome.exception()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, unless the wait would end at or past the deadline (or it passed).

        ``on_retry`` is called only when the wait really happens, after the deadline check.

        Raises:
            _NoTimeLeft: The deadline leaves no time for this wait.
        """
        left = time_left(self._deadline)
        if (left is not None and seconds >= left) or (
            self._deadline is not None and self._deadline()
        ):
            raise _NoTimeLeft
        if self._on_retry is not None and self.last_error is not None:
            self._on_retry(self.last_error, self.count)
        self._sleep(seconds)


class RetryingBackend:
    """A `Backend` that retries another backend's retryable errors with a `RetryPolicy`.

    Thread-safe when the inner backend is.

    Args:
        inner: The backend making the attempts.
        policy: The retry policy (default: `RetryPolicy()`, the seed's 1 s, 2 s, 4 s).
        on_retry: Called before each wait as ``on_retry(error, attempt_number)``, from the
            calling thread (e.g. to slow a rate limiter down on throttling).

    Examples:
        >>> backend = RetryingBackend(BedrockBackend())  # doctest: +SKIP
    """

    def __init__(
        self,
        inner: Backend,
        policy: RetryPolicy | None = None,
        *,
        on_retry: OnRetry | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy if policy is not None else RetryPolicy()
        self._on_retry = on_retry

    @property
    def model_id(self) -> str:
        """The inner backend's model id."""
        return self._inner.model_id

    @property
    def inner(self) -> Backend:
        """The wrapped backend."""
        return self._inner

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._policy

    def __repr__(self) -> str:
        return f"RetryingBackend({self._inner!r}, {self._policy!r})"

    def with_model_id(self, model_id: str) -> RetryingBackend:
        """The same retries around the inner backend's `with_model_id(model_id)`.

        Raises:
            ConfigurationError: The inner backend cannot switch models.
        """
        switch = getattr(self._inner, "with_model_id", None)
        if not callable(switch):
            raise ConfigurationError(
                f"{type(self._inner).__name__} has no with_model_id(); it cannot switch models"
            )
        return RetryingBackend(switch(model_id), self._policy, on_retry=self._on_retry)

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Send `request` through the inner backend, retrying retryable errors.

        Raises:
            BackendError: As `RetryPolicy.call`, with ``attempts`` set.
        """
        return self._policy.call(lambda: self._inner.complete(request), on_retry=self._on_retry)
