"""The model dispatcher: what every run's model pass shares, and the model calls.

`ModelDispatcher` holds what every run shares: the backend, the value cache, the rate limiter
(the quota is the service's, not one run's), the retry policy, the prompt builder, the parser,
the guard and the post-processors. `ModelDispatcher.start` opens a `ModelPass` for one run:
it holds that run's budget spending and whether it stopped early, so several runs can share
one dispatcher at once.

The answer mode: ``"tool"`` (the default) forces the answer through a tool call, ``"json"``
asks for the same JSON object as text, with no tool. A model that refuses forced tool use
(Bedrock's ``ValidationException``, an OpenAI-compatible server's 400 about ``tool_choice``)
is met with a capability fallback: a call refused as invalid in tool mode is sent once more,
the same batch, in json mode; when that one is accepted, the dispatcher answers in json mode
for the rest of the run and for its later runs with that model (logged once), and the run's
report says so (``answer_mode``, ``answer_mode_switched``). When json mode is refused too, the
first refusal stands: a non-retryable failure, so `ModelFailedError`.

Calls follow the service's quota (`requests_per_second`, 10 by default: Bedrock's default
on-demand quota, the seed's figure): an `AdaptiveRateLimiter.for_quota` spaces them evenly a
little under it, backs off on throttling and climbs back. Unless `concurrency` is given, the
calls in flight are sized from the quota and the model's latency as observed (Little's law:
rate times latency, with some slack, at most `MAX_CONCURRENCY`), so a slow model still gets
its quota's worth of calls and a fast one does not hold batches waiting for the limiter.

The pass itself (the queue, scheduling, settling answers) lives in `llm_normalize.model_pass`;
`ModelPass` and `Question` are importable from here too.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from llm_normalize.backends.base import Backend
from llm_normalize.backends.retry import RetryingBackend, RetryPolicy
from llm_normalize.caches import ValueCache, cache_key, rejection_key
from llm_normalize.deadline import StopWhen, time_left
from llm_normalize.exceptions import (
    BackendError,
    BackendInvalidRequestError,
    BackendThrottledError,
    ConfigurationError,
    DeadlineExceededError,
    ResponseParseError,
)
from llm_normalize.fields import Profile
from llm_normalize.guard import Guard
from llm_normalize.messages import ModelRequest, Usage
from llm_normalize.model_pass import (
    CallOutcome,
    CallTicket,
    ModelPass,
    OnDecided,
    Question,
    fallback,
)
from llm_normalize.parsing import ResponseParser, TruncatedResponseError
from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.pricing import estimate_cost
from llm_normalize.prompt import ANSWER_MODES, Item, PromptBuilder
from llm_normalize.ratelimit import AdaptiveRateLimiter, FixedIntervalLimiter, RateLimiter
from llm_normalize.records import FLAG_GUARD_REJECTED, FieldResult
from llm_normalize.report import RunCounts

__all__ = [
    "DEFAULT_REQUESTS_PER_SECOND",
    "MAX_CONCURRENCY",
    "Budget",
    "ModelDispatcher",
    "ModelPass",
    "OnDecided",
    "Question",
    "check_rates",
]

logger = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_SECOND: Final = 10.0
"""The quota assumed when none is given: Bedrock's default on-demand quota, as the seed says."""

MAX_CONCURRENCY: Final = 64
"""The most calls in flight when the concurrency is sized automatically."""

# Before any call has answered, a model is assumed to take this long.
_FIRST_LATENCY_GUESS_S: Final = 1.0
# Calls in flight beyond rate x latency, as a share: latency varies from call to call.
_SLACK: Final = 1.25
# The weight of the latest call in the latency estimate (an exponential moving average).
_LATENCY_WEIGHT: Final = 0.2


@dataclass(frozen=True, slots=True)
class Budget:
    """A ceiling on what one run may spend on the model; past it, no new call is scheduled.

    Each call is reserved at its worst case (estimated input plus its `max_tokens` of output)
    before it is sent, so the ceiling holds even with several calls in flight.

    Attributes:
        max_tokens: Input plus output tokens.
        max_usd: Estimated US dollars, from the price table (unknown models cannot be
            held to a dollar budget: `Normalizer` refuses that combination).
    """

    max_tokens: int | None = None
    max_usd: float | None = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 0:
            raise ConfigurationError("Budget.max_tokens must not be negative")
        if self.max_usd is not None and self.max_usd < 0:
            raise ConfigurationError("Budget.max_usd must not be negative")


class _AnswerModes:
    """The answer mode of each model, shared by the copies of a dispatcher; thread-safe.

    Starts at the configured mode; `switch_to_json` records a model that refused tool use.
    """

    def __init__(self, configured: str) -> None:
        self.configured = configured
        self._switched: set[str] = set()
        self._lock = threading.Lock()

    def mode_of(self, model_id: str) -> str:
        with self._lock:
            return "json" if model_id in self._switched else self.configured

    def switched(self, model_id: str) -> bool:
        with self._lock:
            return model_id in self._switched

    def switch_to_json(self, model_id: str) -> bool:
        """Record the switch; `True` for the call that made it (and logs it), once per model."""
        with self._lock:
            if model_id in self._switched or self.configured == "json":
                return False
            self._switched.add(model_id)
            return True


def check_rates(concurrency: int | None, requests_per_second: float | None) -> None:
    """Raise `ConfigurationError` unless both call settings are positive (or `None`: automatic)."""
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise ConfigurationError("concurrency must be an integer of at least 1, or None")
    if requests_per_second is not None and not (
        isinstance(requests_per_second, int | float)
        and not isinstance(requests_per_second, bool)
        and 0 < requests_per_second < math.inf
    ):
        raise ConfigurationError("requests_per_second must be a positive number, or None")


class _Latency:
    """The model's latency as observed: a moving average of answered calls; thread-safe."""

    def __init__(self) -> None:
        self._estimate: float | None = None
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            old = self._estimate
            self._estimate = seconds if old is None else old + _LATENCY_WEIGHT * (seconds - old)

    @property
    def estimate(self) -> float | None:
        with self._lock:
            return self._estimate


class ModelDispatcher:
    """Decide unsure values with a model: cache, batches, budget, calls, parser, guard.

    Thread-safe: per-run state lives in the `ModelPass` that `start` returns.

    Args:
        backend: The model backend. A `RetryingBackend` is unwrapped and its policy used,
            so attempts never multiply.
        registry: The post-processors run on every accepted answer.
        cache: The value cache, keyed by field, raw value, prompt version and model.
        profile: The field specs the prompt builder and the guard read.
        concurrency: Model calls in flight at once. `None` (the default) sizes it from the
            rate and the latency observed, at most `MAX_CONCURRENCY` (see `slots`).
        requests_per_second: The service's quota, in calls per second (default
            `DEFAULT_REQUESTS_PER_SECOND`): the limiter is `AdaptiveRateLimiter.for_quota`
            of it.
        rate_limiter: A limiter of your own, instead of one from `requests_per_second`.
        retry: How calls are retried (default: the `RetryingBackend`'s policy, else
            `RetryPolicy()`).
        budget: A ceiling on tokens or dollars for one run.
        prompt_builder: Builds requests (default: `PromptBuilder(profile)`).
        parser: Reads answers (default: `ResponseParser()`).
        guard: Checks answers (default: `Guard(profile)`).
        prices: A price table for dollar budgets and costs (default: the built-in one).
        answer_mode: ``"tool"`` (forced tool use, with the capability fallback to json when
            the model refuses it) or ``"json"`` (JSON in text, no tool, from the start).
            Default: the `prompt_builder`'s mode, else ``"tool"``.

    Raises:
        ConfigurationError: A setting out of range, an unknown `answer_mode`, or a dollar
            budget on a model whose price is unknown.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        registry: PostProcessorRegistry,
        cache: ValueCache,
        profile: Profile,
        concurrency: int | None = None,
        requests_per_second: float | None = None,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        prompt_builder: PromptBuilder | None = None,
        parser: ResponseParser | None = None,
        guard: Guard | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
        answer_mode: str | None = None,
    ) -> None:
        check_rates(concurrency, requests_per_second)
        if answer_mode is not None and answer_mode not in ANSWER_MODES:
            raise ConfigurationError(
                f"answer_mode must be one of {', '.join(ANSWER_MODES)}, not {answer_mode!r}"
            )
        if isinstance(backend, RetryingBackend):
            # Its retries would run inside ours: 4 attempts of 4 attempts each.
            retry = retry or backend.policy
            backend = backend.inner
        self.backend = backend
        self.registry = registry
        self.cache = cache
        # The most calls in flight: the caller's, or the ceiling of the automatic sizing.
        self.concurrency: int = concurrency if concurrency is not None else MAX_CONCURRENCY
        self.auto_concurrency = concurrency is None
        self.requests_per_second = float(requests_per_second or DEFAULT_REQUESTS_PER_SECOND)
        self.rate_limiter: RateLimiter = rate_limiter or AdaptiveRateLimiter.for_quota(
            self.requests_per_second
        )
        self.latency = _Latency()
        self.retry = retry or RetryPolicy()
        self.budget = budget
        builder = prompt_builder or PromptBuilder(profile)
        self._answer_modes = _AnswerModes(answer_mode or builder.answer_mode)
        self.prompt_builder = builder
        self.parser = parser or ResponseParser()
        self.guard = guard or Guard(profile)
        self.prices = prices
        self._check_budget()

    def __repr__(self) -> str:
        concurrency = "auto" if self.auto_concurrency else self.concurrency
        return f"ModelDispatcher(model={self.model_id!r}, concurrency={concurrency})"

    @property
    def rate(self) -> float:
        """The calls per second the limiter allows now (the quota for a limiter that cannot say)."""
        limiter = self.rate_limiter
        if isinstance(limiter, AdaptiveRateLimiter):
            return limiter.rate
        if isinstance(limiter, FixedIntervalLimiter):
            return 1 / limiter.interval_s if limiter.interval_s > 0 else math.inf
        return self.requests_per_second

    def slots(self, busy_s: float = 0.0) -> int:
        """How many calls may be in flight now.

        The caller's `concurrency`; or, automatically, enough calls to keep the limiter's rate
        going while each takes the latency observed (its moving average, or `busy_s`, how long
        the oldest call in flight has been at the backend, when that is longer; 1 s before
        any call answered), with a quarter more for variation, plus one; at least 1 and at
        most `MAX_CONCURRENCY`.
        """
        if not self.auto_concurrency:
            return self.concurrency
        latency = max(self.latency.estimate or _FIRST_LATENCY_GUESS_S, busy_s)
        wanted = self.rate * latency * _SLACK + 1
        if not wanted < self.concurrency:
            return self.concurrency
        return max(1, math.ceil(wanted))

    def _check_budget(self) -> None:
        budget = self.budget
        if budget is None or budget.max_usd is None:
            return
        if estimate_cost(self.model_id, Usage(1, 1), self.prices) is None:
            raise ConfigurationError(
                f"no price known for model {self.model_id!r}: a dollar budget cannot be "
                "held; pass prices=... or use Budget(max_tokens=...)"
            )

    @property
    def model_id(self) -> str:
        """The model the backend calls."""
        return self.backend.model_id

    @property
    def prompt_builder(self) -> PromptBuilder:
        """The builder of the requests sent now, in the current `answer_mode`."""
        return self.builder_for(self.answer_mode)

    @prompt_builder.setter
    def prompt_builder(self, builder: PromptBuilder) -> None:
        self._builder = builder
        self._builders: dict[str, PromptBuilder] = {}

    def builder_for(self, answer_mode: str) -> PromptBuilder:
        """The prompt builder asking for answers in `answer_mode` (``"tool"`` or ``"json"``)."""
        builder = self._builders.get(answer_mode)
        if builder is None:
            builder = self._builder.with_answer_mode(answer_mode)
            self._builders[answer_mode] = builder  # a race builds the same twice: harmless
        return builder

    @property
    def answer_mode(self) -> str:
        """How the model is asked to answer now: ``"tool"`` or ``"json"``.

        ``"json"`` when configured so, or after the model refused forced tool use.
        """
        return self._answer_modes.mode_of(self.model_id)

    @property
    def answer_mode_switched(self) -> bool:
        """Whether the model refused forced tool use, so answers come as JSON text."""
        return self._answer_modes.switched(self.model_id)

    @property
    def prompt_version(self) -> str:
        """The version of the prompt sent now (part of every cache key); it names the mode."""
        return self.prompt_builder.prompt_version

    @property
    def cache_version(self) -> str:
        """The version part of a cache key: answers depend on the prompt and on the model."""
        return self.cache_version_for(self.answer_mode)

    def cache_version_for(self, answer_mode: str) -> str:
        """The version part of the cache key of an answer given in `answer_mode`."""
        return f"{self.builder_for(answer_mode).prompt_version}@{self.model_id}"

    def with_backend(self, backend: Backend) -> ModelDispatcher:
        """A dispatcher like this one, calling `backend` (same cache, limiter, guard, budget).

        The answer modes are shared: a model that refused tool use stays in json mode.
        """
        other = copy.copy(self)
        other.backend = backend
        other._check_budget()
        return other

    def start(
        self, stop_when: StopWhen | None = None, fields: Sequence[str] = (), batch_size: int = 10
    ) -> ModelPass:
        """Open the model pass of one run.

        Args:
            stop_when: The run's deadline check (a `Deadline` also bounds waits and calls).
            fields: The fields the run normalizes: the budget must allow one call for each.
            batch_size: Values per call.

        Raises:
            ConfigurationError: The budget cannot pay for one call of one of `fields`.
        """
        self._check_budget_fits(fields)
        return ModelPass(self, stop_when, batch_size=batch_size)

    def _check_budget_fits(self, fields: Sequence[str]) -> None:
        """Refuse a budget smaller than the smallest call: it would defer every lead forever."""
        budget = self.budget
        if budget is None:
            return
        for name in fields:
            request = self.prompt_builder.build([Item("0", name, "x")])
            cost = Usage(self.prompt_builder.estimate_input_tokens(request), request.max_tokens)
            too_many_tokens = (
                budget.max_tokens is not None and cost.total_tokens > budget.max_tokens
            )
            usd = estimate_cost(self.model_id, cost, self.prices)
            too_many_usd = budget.max_usd is not None and usd is not None and usd > budget.max_usd
            if too_many_tokens or too_many_usd:
                raise ConfigurationError(
                    f"the budget ({budget.max_tokens} tokens, {budget.max_usd} USD) is smaller "
                    f"than one model call for field {name!r} (about {cost.total_tokens} tokens: "
                    "the prompt plus the answer's max_tokens); no lead could ever be finished. "
                    "Raise the budget."
                )

    def call(
        self,
        request: ModelRequest,
        size: int,
        deadline: StopWhen | None,
        ticket: CallTicket | None = None,
    ) -> CallOutcome:
        """One batch, with retries; runs in a worker thread and never raises a BackendError.

        No attempt starts and no retry waits past `deadline`; each attempt's timeout is the
        time left before it. A request with a tool that the backend refuses as invalid is
        sent once more without one (JSON in text); if that is accepted, the dispatcher stays
        in json mode from then on (the capability fallback). `ticket` learns when each
        attempt reaches the backend; the latency of the answered one is observed (`slots`).
        """
        sending = _Sending(self, request, deadline, ticket)
        try:
            response = sending.send()
        except BackendError as exc:
            # The deadline is the run's plan, not a failure of the model.
            level = logging.INFO if isinstance(exc, DeadlineExceededError) else logging.WARNING
            logger.log(
                level,
                "a model call failed for good: %s, %d items left undecided",
                type(exc).__name__,
                size,
            )
            errors = RunCounts(errors_by_kind={type(exc).__name__: 1})
            return CallOutcome(
                failure=exc, counts=sending.counts() + errors, answer_mode=sending.mode
            )
        self.rate_limiter.on_success()
        counts = sending.counts(response.usage)
        mode = sending.mode
        try:
            parsed = self.parser.parse(response, [str(i) for i in range(size)])
        except TruncatedResponseError:
            return CallOutcome(truncated=True, counts=counts, answer_mode=mode)
        except ResponseParseError as exc:
            failed = RunCounts(errors_by_kind={"ResponseParseError": 1})
            unreadable = BackendError(f"the model's answer could not be read: {exc}")
            return CallOutcome(failure=unreadable, counts=counts + failed, answer_mode=mode)
        return CallOutcome(parsed=parsed, counts=counts, answer_mode=mode)

    def _switched_to_json(self) -> bool:
        """Record that this model refuses forced tool use; log it once."""
        switched = self._answer_modes.switch_to_json(self.model_id)
        if switched:
            logger.warning(
                "model %s refused forced tool use; answers are asked as JSON text from now "
                "on (prompt version %s)",
                self.model_id,
                self.prompt_version,
            )
        return switched

    def judge(
        self, question: Question, answer: str, *, answer_mode: str | None = None
    ) -> tuple[FieldResult, str | None]:
        """The result of one answer, and the guard's reason when it refused it.

        An accepted answer is cached under the prompt version of `answer_mode`, the mode it
        was given in (default: the current one); a refused one is cached as refused, with the
        guard's reason, under `rejection_key`, so that later runs do not ask again.
        """
        verdict = self.guard.check(question.spec, question.raw, answer, rules=question.rules)
        version = self.cache_version_for(answer_mode or self.answer_mode)
        if not verdict.ok:
            reason = verdict.reason or "rejected"
            # Remembered too: at temperature 0 the same prompt would bring the same answer
            # back, to be refused again. A rollback of the version purges it with the rest.
            self.cache.set(rejection_key(question.name, question.raw, version), reason)
            return fallback(question, FLAG_GUARD_REJECTED, f"guard:{verdict.reason}"), reason
        value = self.registry.apply(question.name, answer) or ""
        self.cache.set(cache_key(question.name, question.raw, version), value)
        return FieldResult(value, source="llm", confident=True), None


class _Sending:
    """One batch on its way: its attempts, retries and throttles, and the mode it went in."""

    def __init__(
        self,
        dispatcher: ModelDispatcher,
        request: ModelRequest,
        deadline: StopWhen | None,
        ticket: CallTicket | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.request = request
        self.deadline = deadline
        self.ticket = ticket or CallTicket()
        self.mode = "tool" if request.tool is not None else "json"
        self.switched = False
        self.calls = self.retries = self.throttled = 0

    def counts(self, usage: Usage | None = None) -> RunCounts:
        """What the sending did, with the answer's `usage` when there was one."""
        return RunCounts(
            model_calls=self.calls,
            retries=self.retries,
            throttled=self.throttled,
            usage=usage or Usage(),
            answer_mode_switched=self.switched,
        )

    def attempt(self) -> Any:
        """One request, if the deadline allows it."""
        dispatcher, deadline = self.dispatcher, self.deadline
        if deadline is not None and deadline():
            raise DeadlineExceededError("the run's deadline came before the model call")
        dispatcher.rate_limiter.acquire()
        left = time_left(deadline)
        if left is not None and left <= 0:
            raise DeadlineExceededError("the run's deadline came before the model call")
        self.calls += 1
        started = self.ticket.started = time.monotonic()
        try:
            response = dispatcher.backend.complete(replace(self.request, timeout_s=left))
        except BackendThrottledError:
            self.throttled += 1
            dispatcher.rate_limiter.on_throttle()
            raise
        finally:
            self.ticket.started = None
        dispatcher.latency.observe(time.monotonic() - started)
        return response

    def on_retry(self, exc: BaseException, attempt_number: int) -> None:
        """Count a retry (before its wait)."""
        self.retries += 1
        logger.info(
            "retrying a model call after %s (attempt %d)", type(exc).__name__, attempt_number
        )

    def _retried(self) -> Any:
        return self.dispatcher.retry.call(
            self.attempt, on_retry=self.on_retry, deadline=self.deadline
        )

    def send(self) -> Any:
        """The answer, with retries; a tool request refused as invalid is asked once in text."""
        try:
            return self._retried()
        except BackendInvalidRequestError:
            if self.mode != "tool" or not self.request.items:
                raise
            # Perhaps the model refuses forced tool use: ask the same batch in text, once.
            request = self.request
            builder = self.dispatcher.builder_for("json")
            self.request = builder.build(request.items, metadata=request.metadata)
            self.mode = "json"
            try:
                response = self._retried()
            except BackendInvalidRequestError:
                pass  # refused as text too: the first refusal stands, raised below
            else:
                self.switched = self.dispatcher._switched_to_json()
                return response
            raise
