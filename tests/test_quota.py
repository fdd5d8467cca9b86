"""Calls from the quota: the default rate, calls spaced under it, concurrency from latency."""

import itertools
import math
import threading
from typing import Any

import pytest

from llm_normalize import Budget, Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.dispatch import (
    DEFAULT_REQUESTS_PER_SECOND,
    MAX_CONCURRENCY,
    ModelDispatcher,
    check_rates,
)
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.messages import ModelRequest
from llm_normalize.ratelimit import AdaptiveRateLimiter, FixedIntervalLimiter

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter_s=0)


class FakeClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def dispatcher_of(normalizer: Normalizer) -> ModelDispatcher:
    dispatcher = normalizer.dispatcher
    assert dispatcher is not None
    return dispatcher


class TestDefaults:
    def test_the_quota_is_bedrocks_default(self) -> None:
        """Without settings: a 10 calls/s quota, spaced evenly just under it, no burst."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend()))
        assert dispatcher.requests_per_second == DEFAULT_REQUESTS_PER_SECOND == 10.0
        limiter = dispatcher.rate_limiter
        assert isinstance(limiter, AdaptiveRateLimiter)
        assert (limiter.rate, limiter.max_rate, limiter.burst) == (9.5, 9.5, 1)
        assert dispatcher.auto_concurrency
        assert dispatcher.concurrency == MAX_CONCURRENCY

    def test_quota_is_overridable(self) -> None:
        """requests_per_second sets the quota the limiter follows."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend(), requests_per_second=40))
        assert dispatcher.rate == pytest.approx(38.0)

    def test_explicit_concurrency_is_kept(self) -> None:
        """concurrency= is an override: the slots never change, whatever the latency."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend(), concurrency=4))
        dispatcher.latency.observe(30.0)
        assert not dispatcher.auto_concurrency
        assert dispatcher.slots(busy_s=60.0) == 4

    @pytest.mark.parametrize(
        ("concurrency", "rps"), [(0, None), (-1, None), (None, 0), (None, -2.0), (None, math.inf)]
    )
    def test_bad_settings_are_refused(self, concurrency: Any, rps: Any) -> None:
        """A concurrency below 1 or a quota that is not a positive number is refused."""
        with pytest.raises(ConfigurationError):
            check_rates(concurrency, rps)
        with pytest.raises(ConfigurationError):
            Normalizer(FakeBackend(), concurrency=concurrency, requests_per_second=rps)


class TestSlots:
    def test_sized_from_rate_and_latency(self) -> None:
        """Calls in flight: rate x latency, a quarter more, plus one."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend()))
        dispatcher.latency.observe(3.0)
        assert dispatcher.slots() == math.ceil(9.5 * 3.0 * 1.25 + 1)

    def test_a_fast_model_needs_few(self) -> None:
        """At 0.2 s a call, a handful of calls keep 10 calls a second going."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend()))
        dispatcher.latency.observe(0.2)
        assert dispatcher.slots() == 4

    def test_bounded(self) -> None:
        """However slow the model, at most MAX_CONCURRENCY calls are in flight."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend(), requests_per_second=1000))
        dispatcher.latency.observe(60.0)
        assert dispatcher.slots() == MAX_CONCURRENCY

    def test_grows_while_calls_take_longer_than_thought(self) -> None:
        """Before any answer, a call out for 2 s counts as a 2 s latency."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend()))
        assert dispatcher.slots() == math.ceil(9.5 * 1.0 * 1.25 + 1)
        assert dispatcher.slots(busy_s=2.0) == math.ceil(9.5 * 2.0 * 1.25 + 1)

    def test_latency_is_a_moving_average(self) -> None:
        """One slow call moves the estimate a fifth of the way."""
        dispatcher = dispatcher_of(Normalizer(FakeBackend()))
        dispatcher.latency.observe(1.0)
        dispatcher.latency.observe(6.0)
        assert dispatcher.latency.estimate == pytest.approx(2.0)

    def test_a_fixed_interval_limiter_sets_the_rate(self) -> None:
        """The seed's pacing, 2 calls a second, sizes the slots too."""
        limiter = FixedIntervalLimiter(0.5, sleep=lambda _s: None)
        dispatcher = dispatcher_of(Normalizer(FakeBackend(), rate_limiter=limiter))
        dispatcher.latency.observe(2.0)
        assert dispatcher.rate == 2.0
        assert dispatcher.slots() == math.ceil(2.0 * 2.0 * 1.25 + 1)

    def test_more_than_four_calls_in_flight_by_default(self) -> None:
        """A slow model gets as many calls at once as the quota allows, not four."""
        barrier = threading.Barrier(8, timeout=30)

        def respond(request: ModelRequest) -> str:
            barrier.wait()  # eight calls must be out together, or this breaks
            return FakeBackend.echo(request)

        backend = FakeBackend(respond)
        normalizer = Normalizer(backend, requests_per_second=1000, retry=NO_SLEEP)
        leads = [{"leadId": str(n), "ciudad": f"pueblo raro {n}"} for n in range(80)]
        records = normalizer.normalize(leads)
        assert backend.calls == 8
        assert all(r.sources["ciudad"] == "llm" for r in records)


class TestLimiterForQuota:
    def test_calls_are_spaced_evenly_under_the_quota(self) -> None:
        """No burst: every call after the first waits 1 / (0.95 x quota)."""
        clock = FakeClock()
        limiter = AdaptiveRateLimiter.for_quota(10, clock=clock, sleep=clock.sleep)
        started = []
        for _ in range(30):
            limiter.acquire()
            started.append(clock.now)
        gaps = [b - a for a, b in itertools.pairwise(started)]
        assert gaps == pytest.approx([1 / 9.5] * 29)

    def test_a_late_start_pushes_the_next_calls_back(self) -> None:
        """A caller that wakes up late does not crowd the next one into the same second."""
        clock = FakeClock()
        late = [0.08]

        def oversleep(seconds: float) -> None:
            clock.sleep(seconds + (late.pop() if late else 0.0))

        limiter = AdaptiveRateLimiter.for_quota(10, clock=clock, sleep=oversleep)
        started = []
        for _ in range(5):
            limiter.acquire()
            started.append(clock.now)
        assert started[1] == pytest.approx(1 / 9.5 + 0.08)
        gaps = [b - a for a, b in itertools.pairwise(started)]
        assert min(gaps) >= 1 / 9.5 - 1e-9

    def test_never_more_than_the_quota_in_any_second(self) -> None:
        """A fake service with a 10 calls/s window is never throttled by our spacing."""
        clock = FakeClock()
        limiter = AdaptiveRateLimiter.for_quota(10, clock=clock, sleep=clock.sleep)
        service = FakeBackend(requests_per_second=10, clock=clock)
        normalizer = Normalizer(service, rate_limiter=limiter, concurrency=1, retry=NO_SLEEP)
        leads = [{"leadId": str(n), "ciudad": f"pueblo raro {n}"} for n in range(300)]
        report = normalizer.normalize_with_report(leads)[1]
        assert report.model_calls == 30
        assert report.throttled == 0

    def test_backs_off_on_throttling_and_climbs_back(self) -> None:
        """A throttle takes 30% off; 5 successes in a row give 5% of the quota back, up to 95%."""
        clock = FakeClock()
        limiter = AdaptiveRateLimiter.for_quota(10, clock=clock, sleep=clock.sleep)
        limiter.on_throttle()
        assert limiter.rate == pytest.approx(9.5 * 0.7)
        for _ in range(5):
            limiter.on_success()
        assert limiter.rate == pytest.approx(9.5 * 0.7 + 0.5)
        for _ in range(100):
            limiter.on_success()
        assert limiter.rate == pytest.approx(9.5)

    @pytest.mark.parametrize(("quota", "headroom"), [(0, 0.05), (10, 1.0), (10, -0.1), (10, True)])
    def test_bad_quota_is_refused(self, quota: float, headroom: Any) -> None:
        """A quota that is not positive, or a headroom outside [0, 1), is refused."""
        with pytest.raises(ConfigurationError):
            AdaptiveRateLimiter.for_quota(quota, headroom=headroom)

    @pytest.mark.parametrize("decrease", [0, 1, 1.5, True, "0.5"])
    def test_bad_decrease_is_refused(self, decrease: Any) -> None:
        """The decrease factor must be above 0 and below 1."""
        with pytest.raises(ConfigurationError):
            AdaptiveRateLimiter(1.0, decrease=decrease)


class TestBudgetWithManyCalls:
    def test_waits_for_calls_in_flight_instead_of_stopping(self) -> None:
        """A batch the reserved calls crowd out waits for them; the budget still holds."""
        backend = FakeBackend()
        normalizer = Normalizer(
            backend,
            requests_per_second=10_000,
            retry=NO_SLEEP,
            concurrency=16,
            budget=Budget(max_tokens=12_000),
        )
        leads = [{"leadId": str(n), "ciudad": f"pueblo raro {n}"} for n in range(400)]
        report = normalizer.normalize_with_report(leads)[1]
        builder = dispatcher_of(normalizer).prompt_builder
        request = backend.requests[0]
        worst = builder.estimate_input_tokens(request) + request.max_tokens
        assert backend.calls > 12_000 // worst  # more calls than fit at their worst case
        assert report.input_tokens + report.output_tokens <= 12_000
        assert report.stopped_early == "budget"
