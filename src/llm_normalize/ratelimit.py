"""Client-side rate limiting of model calls, shared by the pipeline's worker threads.

The seed slept a fixed 500 ms after every call, whatever the service could take.
`AdaptiveRateLimiter` replaces that with a token bucket whose rate adapts like TCP's
congestion control (AIMD, additive increase and multiplicative decrease):

- every call first takes a token (`acquire`), which blocks until the bucket has one; the
  bucket refills at ``rate`` tokens per second and holds at most ``burst``;
- a throttled call (`on_throttle`) multiplies the rate by ``decrease`` (halves it by
  default), down to ``min_rate``, and empties the bucket; throttles reported within
  ``throttle_cooldown_s`` of the last decrease count once, because calls that were in flight
  together when the service pushed back are one signal;
- every ``successes_per_increase`` consecutive successful calls (`on_success`) add
  ``increase`` to the rate, up to ``max_rate`` (by default the initial rate).

`AdaptiveRateLimiter.for_quota` builds the limiter of a service quota: evenly spaced calls
(no burst) a little under the quota, a gentler decrease and a quicker recovery back up to it.

`FixedIntervalLimiter` reproduces the seed's fixed sleep, for seed-style benchmarks.
Both follow the `RateLimiter` protocol. The clock and the sleep function are injectable,
so tests run on a fake clock and never sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from llm_normalize.exceptions import ConfigurationError

__all__ = ["QUOTA_HEADROOM", "AdaptiveRateLimiter", "FixedIntervalLimiter", "RateLimiter"]

QUOTA_HEADROOM: Final = 0.05
"""The share of a quota `AdaptiveRateLimiter.for_quota` leaves unused by default."""

# Waits shorter than this are rounding, not waits.
_EPSILON_S: Final = 1e-9


@runtime_checkable
class RateLimiter(Protocol):
    """What the pipeline needs from a rate limiter. Implementations must be thread-safe."""

    def acquire(self) -> None:
        """Block until the caller may make one call."""
        ...

    def on_success(self) -> None:
        """Report that a call succeeded."""
        ...

    def on_throttle(self) -> None:
        """Report that a call was throttled by the service."""
        ...


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number")
    if not math.isfinite(value):
        raise ConfigurationError(f"{name} must be finite")
    return float(value)


class AdaptiveRateLimiter:
    """A token bucket shared by worker threads, with an AIMD rate.

    Args:
        rate: The initial rate, in calls per second.
        burst: The bucket's capacity: how many calls may start at once after a quiet spell.
            The bucket starts full.
        min_rate: The rate never drops below this.
        max_rate: The rate never grows above this; the initial rate when None.
        increase: Calls per second added after each run of successes.
        successes_per_increase: Consecutive successes needed for one increase.
        throttle_cooldown_s: Throttles reported within this many seconds of the last
            decrease do not decrease the rate again. 0 decreases on every throttle.
        decrease: The factor a throttle multiplies the rate by (above 0, below 1).
        steady: Also keep calls ``1 / rate`` apart by when they really start: a caller
            that wakes up late (a busy interpreter, a garbage collection) pushes the next
            ones back instead of crowding them, so no second holds more than the rate.
        clock: Monotonic time in seconds (`time.monotonic`; inject a fake in tests).
        sleep: Sleeps a number of seconds (`time.sleep`; inject a fake in tests).

    Raises:
        ConfigurationError: A rate is not positive, `min_rate > rate`, `max_rate < rate`,
            `burst` or `successes_per_increase` is below 1, `increase` is negative, or
            `decrease` is not between 0 and 1.

    Examples:
        >>> limiter = AdaptiveRateLimiter(4.0, min_rate=1.0)
        >>> limiter.on_throttle()
        >>> limiter.rate
        2.0
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        min_rate: float = 0.1,
        max_rate: float | None = None,
        increase: float = 0.5,
        successes_per_increase: int = 10,
        throttle_cooldown_s: float = 1.0,
        decrease: float = 0.5,
        steady: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        rate = _positive("rate", rate)
        min_rate = _positive("min_rate", min_rate)
        max_rate = rate if max_rate is None else _positive("max_rate", max_rate)
        if min_rate > rate:
            raise ConfigurationError("min_rate must not exceed rate")
        if max_rate < rate:
            raise ConfigurationError("max_rate must not be below rate")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigurationError("burst must be an integer of at least 1")
        if isinstance(successes_per_increase, bool) or not isinstance(successes_per_increase, int):
            raise ConfigurationError("successes_per_increase must be an integer")
        if successes_per_increase < 1:
            raise ConfigurationError("successes_per_increase must be at least 1")
        if not (increase >= 0 and math.isfinite(increase)):
            raise ConfigurationError("increase must be a finite number of at least 0")
        if not (throttle_cooldown_s >= 0 and math.isfinite(throttle_cooldown_s)):
            raise ConfigurationError("throttle_cooldown_s must be a finite number of at least 0")
        if isinstance(decrease, bool) or not isinstance(decrease, int | float):
            raise ConfigurationError("decrease must be a number")
        if not 0 < decrease < 1:
            raise ConfigurationError("decrease must be above 0 and below 1")
        self._rate = rate
        self._burst = burst
        self._min_rate = min_rate
        self._max_rate = max_rate
        self._increase = float(increase)
        self._successes_per_increase = successes_per_increase
        self._cooldown = float(throttle_cooldown_s)
        self._decrease = float(decrease)
        self._steady = bool(steady)
        self._last_start: float | None = None
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()
        self._successes = 0
        self._last_decrease: float | None = None
        self._throttles = 0

    @classmethod
    def for_quota(
        cls,
        quota: float,
        *,
        headroom: float = QUOTA_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> AdaptiveRateLimiter:
        """The limiter of a service quota of `quota` calls per second.

        Calls are spaced evenly (a burst of 1, and `steady`: a call that starts late pushes
        the next ones back, so no second holds more than the quota) at ``quota * (1 -
        headroom)``, which leaves room for calls that reach the service a little late. A
        throttle (another client sharing the quota, a quota lower than said) takes 30% off
        the rate, at most once a second; every 5 successes in a row give 5% of the quota
        back, up to where it started.

        Raises:
            ConfigurationError: `quota` is not a positive number, or `headroom` is not at
                least 0 and below 1.

        Examples:
            >>> limiter = AdaptiveRateLimiter.for_quota(10)
            >>> limiter.rate, limiter.max_rate, limiter.burst
            (9.5, 9.5, 1)
        """
        quota = _positive("quota", quota)
        if isinstance(headroom, bool) or not isinstance(headroom, int | float):
            raise ConfigurationError("headroom must be a number")
        if not 0 <= headroom < 1:
            raise ConfigurationError("headroom must be at least 0 and below 1")
        rate = quota * (1 - headroom)
        return cls(
            rate,
            burst=1,
            min_rate=min(rate, max(quota / 100, 0.01)),
            increase=quota / 20,
            successes_per_increase=5,
            decrease=0.7,
            steady=True,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return (
            f"AdaptiveRateLimiter(rate={self._rate:g}, burst={self._burst}, "
            f"min_rate={self._min_rate:g}, max_rate={self._max_rate:g})"
        )

    @property
    def rate(self) -> float:
        """The current rate, in calls per second."""
        with self._lock:
            return self._rate

    @property
    def burst(self) -> int:
        """The bucket's capacity."""
        return self._burst

    @property
    def min_rate(self) -> float:
        """The lowest rate."""
        return self._min_rate

    @property
    def max_rate(self) -> float:
        """The highest rate."""
        return self._max_rate

    @property
    def throttles(self) -> int:
        """How many throttles were reported, whether or not they decreased the rate."""
        with self._lock:
            return self._throttles

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)
        self._updated = now

    def acquire(self) -> None:
        """Take a token, sleeping first until the bucket has one.

        Each caller reserves the next token under the lock and sleeps outside it, so
        concurrent callers are served in arrival order, one every ``1 / rate`` seconds once
        the burst is spent. A rate change applies to tokens reserved after it. When `steady`,
        a caller then also waits until ``1 / rate`` after the last call really started.
        """
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        while self._steady:
            with self._lock:
                now = self._clock()
                last = self._last_start
                wait = 0.0 if last is None else last + 1 / self._rate - now
                if wait <= _EPSILON_S:
                    self._last_start = now
                    return
            self._sleep(wait)

    def on_success(self) -> None:
        """Count a success; after a run of them, raise the rate by ``increase``."""
        with self._lock:
            self._successes += 1
            if self._successes >= self._successes_per_increase:
                self._successes = 0
                self._set_rate(min(self._max_rate, self._rate + self._increase))

    def on_throttle(self) -> None:
        """Decrease the rate (not below ``min_rate``), empty the bucket, restart the success run."""
        with self._lock:
            self._throttles += 1
            self._successes = 0
            now = self._clock()
            if self._last_decrease is not None and now - self._last_decrease < self._cooldown:
                return
            self._last_decrease = now
            self._set_rate(max(self._min_rate, self._rate * self._decrease))
            self._tokens = min(self._tokens, 0.0)

    def _set_rate(self, rate: float) -> None:
        # Tokens earned so far were earned at the old rate.
        self._refill(self._clock())
        self._rate = rate


class FixedIntervalLimiter:
    """The seed's pacing: sleep a fixed interval before every call but the first.

    The seed called the model, slept 500 ms, and called again, whatever the service could
    take; this reproduces it for seed-style benchmarks. The sleep happens under a lock, so
    calls from several threads are spaced too. Successes and throttles change nothing.

    Args:
        interval_s: The sleep between calls, in seconds (the seed's 0.5 by default).
        sleep: Sleeps a number of seconds (`time.sleep`; inject a fake in tests).

    Examples:
        >>> slept = []
        >>> limiter = FixedIntervalLimiter(0.5, sleep=slept.append)
        >>> for _ in range(3):
        ...     limiter.acquire()
        >>> slept
        [0.5, 0.5]
    """

    def __init__(
        self, interval_s: float = 0.5, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if isinstance(interval_s, bool) or not isinstance(interval_s, int | float):
            raise ConfigurationError("interval_s must be a number")
        if not (interval_s >= 0 and math.isfinite(interval_s)):
            raise ConfigurationError("interval_s must be a finite number of at least 0")
        self._interval = float(interval_s)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._first = True

    def __repr__(self) -> str:
        return f"FixedIntervalLimiter(interval_s={self._interval:g})"

    @property
    def interval_s(self) -> float:
        """The sleep between calls, in seconds."""
        return self._interval

    def acquire(self) -> None:
        """Return at once the first time, else after sleeping ``interval_s``."""
        with self._lock:
            if self._first:
                self._first = False
                return
            if self._interval > 0:
                self._sleep(self._interval)

    def on_success(self) -> None:
        """Do nothing: the seed's pacing never adapts."""

    def on_throttle(self) -> None:
        """Do nothing: the seed's pacing never adapts."""
