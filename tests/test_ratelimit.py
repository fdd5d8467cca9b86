import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.ratelimit import AdaptiveRateLimiter, FixedIntervalLimiter, RateLimiter


class FakeClock:
    """A clock that moves only when someone sleeps on it (or when `frozen`, never)."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 0.0
        self.frozen = frozen
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if not self.frozen:
                self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock: FakeClock, rate: float = 10.0, **kwargs: object) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(rate, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


class TestProtocol:
    def test_both_limiters_are_rate_limiters(self) -> None:
        """The adaptive and the fixed limiter both satisfy the RateLimiter protocol."""
        assert isinstance(AdaptiveRateLimiter(1.0), RateLimiter)
        assert isinstance(FixedIntervalLimiter(), RateLimiter)


class TestTokenBucket:
    def test_first_acquire_does_not_wait(self) -> None:
        """The bucket starts full."""
        clock = FakeClock()
        limiter(clock).acquire()
        assert clock.slept == []

    def test_rate_is_respected_over_many_acquires(self) -> None:
        """1,000 calls at 10 per second with a burst of 1 take 99.9 seconds, evenly spaced."""
        clock = FakeClock()
        bucket = limiter(clock, 10.0)
        for _ in range(1_000):
            bucket.acquire()
        assert clock.now == pytest.approx(99.9)
        assert all(wait == pytest.approx(0.1) for wait in clock.slept)
        assert len(clock.slept) == 999

    def test_burst_after_a_quiet_spell(self) -> None:
        """After idling, `burst` calls go at once, then the rate applies."""
        clock = FakeClock()
        bucket = limiter(clock, 2.0, burst=5)
        for _ in range(5):
            bucket.acquire()
        assert clock.slept == []
        bucket.acquire()
        assert clock.slept == [pytest.approx(0.5)]
        clock.advance(100.0)  # the bucket refills, but never beyond its capacity
        clock.slept.clear()
        for _ in range(7):
            bucket.acquire()
        assert clock.slept == [pytest.approx(0.5), pytest.approx(0.5)]

    def test_partial_refill_shortens_the_wait(self) -> None:
        """A call after part of an interval waits only for the rest of it."""
        clock = FakeClock()
        bucket = limiter(clock, 4.0)
        bucket.acquire()
        clock.advance(0.1)
        bucket.acquire()
        assert clock.slept == [pytest.approx(0.15)]

    @given(
        st.floats(0.5, 50.0),
        st.integers(1, 5),
        st.lists(st.floats(0.0, 2.0), min_size=1, max_size=40),
    )
    def test_never_more_than_burst_plus_rate_times_elapsed(
        self, rate: float, burst: int, gaps: list[float]
    ) -> None:
        """Over any window, the calls granted never exceed burst + rate * window length."""
        clock = FakeClock()
        bucket = limiter(clock, rate, burst=burst)
        granted: list[float] = []
        for gap in gaps:
            clock.advance(gap)
            bucket.acquire()
            granted.append(clock.now)
        for i in range(len(granted)):
            for j in range(i, len(granted)):
                calls = j - i + 1
                assert calls <= burst + rate * (granted[j] - granted[i]) + 1e-6


class TestAIMD:
    def test_throttle_halves_the_rate(self) -> None:
        """A throttle halves the rate, and the next waits are twice as long."""
        clock = FakeClock()
        bucket = limiter(clock, 10.0)
        bucket.acquire()
        bucket.on_throttle()
        assert bucket.rate == 5.0
        bucket.acquire()
        assert clock.slept == [pytest.approx(0.2)]

    def test_throttle_empties_the_bucket(self) -> None:
        """After a throttle even a full bucket makes the next call wait."""
        clock = FakeClock()
        bucket = limiter(clock, 10.0, burst=5)
        bucket.on_throttle()
        bucket.acquire()
        assert clock.slept == [pytest.approx(0.2)]

    def test_rate_never_drops_below_min_rate(self) -> None:
        """Repeated throttles stop halving at min_rate."""
        clock = FakeClock()
        bucket = limiter(clock, 8.0, min_rate=1.5, throttle_cooldown_s=0.0)
        rates = []
        for _ in range(5):
            bucket.on_throttle()
            rates.append(bucket.rate)
        assert rates == [4.0, 2.0, 1.5, 1.5, 1.5]
        assert bucket.throttles == 5

    def test_throttles_within_the_cooldown_count_once(self) -> None:
        """Calls throttled together halve the rate once; a later throttle halves it again."""
        clock = FakeClock()
        bucket = limiter(clock, 16.0, throttle_cooldown_s=1.0)
        for _ in range(8):
            bucket.on_throttle()
        assert bucket.rate == 8.0
        clock.advance(0.99)
        bucket.on_throttle()
        assert bucket.rate == 8.0
        clock.advance(0.01)
        bucket.on_throttle()
        assert bucket.rate == 4.0
        assert bucket.throttles == 10

    def test_recovery_is_additive_after_a_run_of_successes(self) -> None:
        """Each run of successes_per_increase successes adds `increase` to the rate."""
        clock = FakeClock()
        bucket = limiter(clock, 10.0, increase=1.0, successes_per_increase=3)
        bucket.on_throttle()
        assert bucket.rate == 5.0
        rates = []
        for _ in range(9):
            bucket.on_success()
            rates.append(bucket.rate)
        assert rates == [5.0, 5.0, 6.0, 6.0, 6.0, 7.0, 7.0, 7.0, 8.0]

    def test_recovery_stops_at_the_initial_rate_by_default(self) -> None:
        """Without max_rate, the rate never grows past where it started."""
        clock = FakeClock()
        bucket = limiter(clock, 4.0, increase=1.0, successes_per_increase=1)
        assert bucket.max_rate == 4.0
        bucket.on_throttle()
        for _ in range(10):
            bucket.on_success()
        assert bucket.rate == 4.0

    def test_recovery_up_to_max_rate(self) -> None:
        """With max_rate, successes raise the rate beyond the initial one, up to max_rate."""
        clock = FakeClock()
        bucket = limiter(clock, 4.0, max_rate=5.5, increase=1.0, successes_per_increase=1)
        for _ in range(10):
            bucket.on_success()
        assert bucket.rate == 5.5

    def test_throttle_restarts_the_run_of_successes(self) -> None:
        """Successes before a throttle do not count towards the next increase."""
        clock = FakeClock()
        bucket = limiter(clock, 10.0, increase=1.0, successes_per_increase=3)
        bucket.on_success()
        bucket.on_success()
        bucket.on_throttle()
        bucket.on_success()
        assert bucket.rate == 5.0
        bucket.on_success()
        bucket.on_success()
        assert bucket.rate == 6.0

    def test_rate_increase_applies_to_later_calls(self) -> None:
        """After recovery, calls are spaced at the new rate."""
        clock = FakeClock()
        bucket = limiter(clock, 2.0, max_rate=4.0, increase=2.0, successes_per_increase=1)
        bucket.acquire()
        bucket.on_success()
        bucket.acquire()
        assert clock.slept == [pytest.approx(0.25)]

    def test_defaults(self) -> None:
        """The documented defaults: burst 1, min_rate 0.1, max_rate the initial rate."""
        bucket = AdaptiveRateLimiter(3.0)
        assert (bucket.rate, bucket.burst, bucket.min_rate, bucket.max_rate) == (3.0, 1, 0.1, 3.0)
        assert repr(bucket) == "AdaptiveRateLimiter(rate=3, burst=1, min_rate=0.1, max_rate=3)"


class TestConfiguration:
    @pytest.mark.parametrize(
        ("rate", "kwargs", "match"),
        [
            (0.0, {}, "rate"),
            (-1.0, {}, "rate"),
            (float("inf"), {}, "rate"),
            (float("nan"), {}, "rate"),
            (1.0, {"min_rate": 0.0}, "min_rate"),
            (1.0, {"min_rate": 2.0}, "min_rate"),
            (1.0, {"max_rate": 0.5}, "max_rate"),
            (1.0, {"burst": 0}, "burst"),
            (1.0, {"burst": 1.5}, "burst"),
            (1.0, {"successes_per_increase": 0}, "successes_per_increase"),
            (1.0, {"increase": -0.1}, "increase"),
            (1.0, {"throttle_cooldown_s": -1.0}, "throttle_cooldown_s"),
        ],
    )
    def test_bad_settings_are_refused(
        self, rate: float, kwargs: dict[str, object], match: str
    ) -> None:
        """Settings that make no sense are configuration errors."""
        with pytest.raises(ConfigurationError, match=match):
            AdaptiveRateLimiter(rate, **kwargs)  # type: ignore[arg-type]


class TestConcurrency:
    def test_concurrent_acquires_reserve_distinct_slots(self) -> None:
        """Threads acquiring at one instant get distinct slots, one every 1/rate seconds."""
        clock = FakeClock(frozen=True)
        bucket = limiter(clock, 20.0, burst=4)
        threads_count, per_thread = 16, 25
        barrier = threading.Barrier(threads_count)

        def work() -> None:
            barrier.wait()
            for _ in range(per_thread):
                bucket.acquire()

        threads = [threading.Thread(target=work) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = threads_count * per_thread
        # 4 calls from the full bucket waited not at all; the others waited 1/20 s, 2/20 s, ...
        assert sorted(clock.slept) == pytest.approx([k / 20.0 for k in range(1, total - 4 + 1)])

    def test_real_clock_threads_never_outrun_the_bucket(self) -> None:
        """With the real clock, 40 calls from 4 threads at 200/s with burst 2 take at least 0.19 s."""
        bucket = AdaptiveRateLimiter(200.0, burst=2)
        start = time.monotonic()

        def work() -> None:
            for _ in range(10):
                bucket.acquire()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - start >= (40 - 2) / 200.0 - 1e-3


class TestFixedIntervalLimiter:
    def test_sleeps_between_calls_like_the_seed(self) -> None:
        """Every call but the first sleeps the interval, whatever happens in between."""
        clock = FakeClock()
        fixed = FixedIntervalLimiter(0.5, sleep=clock.sleep)
        fixed.acquire()
        fixed.on_throttle()
        fixed.acquire()
        fixed.on_success()
        fixed.acquire()
        assert clock.slept == [0.5, 0.5]
        assert fixed.interval_s == 0.5
        assert repr(fixed) == "FixedIntervalLimiter(interval_s=0.5)"

    def test_zero_interval_never_sleeps(self) -> None:
        """An interval of 0 never calls sleep."""
        clock = FakeClock()
        fixed = FixedIntervalLimiter(0, sleep=clock.sleep)
        for _ in range(3):
            fixed.acquire()
        assert clock.slept == []

    def test_threads_are_spaced_too(self) -> None:
        """Calls from several threads each sleep the interval, except the very first."""
        clock = FakeClock()
        fixed = FixedIntervalLimiter(0.5, sleep=clock.sleep)
        threads = [threading.Thread(target=fixed.acquire) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert clock.slept == [0.5] * 7

    @pytest.mark.parametrize("interval", [-0.1, float("inf"), float("nan"), "0.5", True])
    def test_bad_interval_is_refused(self, interval: object) -> None:
        """A negative, infinite or non-numeric interval is a configuration error."""
        with pytest.raises(ConfigurationError, match="interval_s"):
            FixedIntervalLimiter(interval)  # type: ignore[arg-type]
