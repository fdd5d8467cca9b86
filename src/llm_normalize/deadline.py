"""`Deadline`: when a run must stop calling the model, and how long it has left.

Every entry point takes a ``stop_when`` check: a callable that returns True once no more
model calls may start. A plain function only says "stop now". A `Deadline` says it too, and
also how many seconds are left, which lets the model pass keep its promises:

- no call starts after the deadline;
- no retry waits past it (a backoff longer than the time left gives up instead);
- each call's timeout (`ModelRequest.timeout_s`) is the time left, and a call still running
  at the deadline is abandoned: its values stay undecided and its leads stay due.

Examples:
    >>> deadline = Deadline.after(60)
    >>> deadline()
    False
    >>> 59 < deadline.remaining_s() <= 60
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

__all__ = ["Deadline", "StopWhen", "time_left"]

StopWhen = Callable[[], bool]
"""A check that returns True once no more model calls may start."""

_FOREVER: Final = math.inf


class Deadline:
    """A stop check that knows how many seconds are left.

    Args:
        remaining_s: Returns the seconds left (zero or less: the deadline has passed);
            `None` when only `stop` can tell.
        stop: An extra check without a time (e.g. a user's own ``stop_when``).

    A `Deadline` is a ``stop_when``: calling it says whether the deadline has passed.
    """

    __slots__ = ("_remaining", "_stop")

    def __init__(
        self,
        remaining_s: Callable[[], float | None],
        stop: StopWhen | None = None,
    ) -> None:
        self._remaining = remaining_s
        self._stop = stop

    def __repr__(self) -> str:
        left = self.remaining_s()
        return "Deadline(no time limit)" if left is None else f"Deadline({left:.3f} s left)"

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline `seconds` from now on `clock` (a monotonic clock in seconds)."""
        end = clock() + seconds
        return cls(lambda: end - clock())

    @classmethod
    def combine(cls, *checks: StopWhen | None) -> Deadline | None:
        """One deadline from several checks: it passes when any of them does.

        Its time left is the least of theirs (a plain check has none).
        `None` when no check is given.
        """
        given = [check for check in checks if check is not None]
        if not given:
            return None
        if len(given) == 1 and isinstance(given[0], Deadline):
            return given[0]

        def remaining() -> float | None:
            lefts = [left for check in given if (left := time_left(check)) is not None]
            return min(lefts) if lefts else None

        return cls(remaining, lambda: any(check() for check in given))

    def remaining_s(self) -> float | None:
        """Seconds left before the deadline (zero or less once passed); `None` if unknown."""
        return self._remaining()

    def __call__(self) -> bool:
        """Whether the deadline has passed (or the extra check says stop)."""
        left = self._remaining()
        if left is not None and left <= 0:
            return True
        return self._stop is not None and self._stop()


def time_left(check: StopWhen | None) -> float | None:
    """The seconds `check` has left if it is a `Deadline` that knows; else `None`."""
    if isinstance(check, Deadline):
        return check.remaining_s()
    return None
