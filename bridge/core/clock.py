"""Time, in one place, so that waits are measured on a monotonic clock and tests can run a
half-hour outage or a laptop's sleep on a clock of their own, without waiting."""

from __future__ import annotations

import threading
import time

# A wall clock that moved this much further (or less far) than the monotonic one, between two
# looks, means the machine slept (Linux and macOS stop the monotonic clock meanwhile) or its
# clock was set. NTP's slewing never comes near it.
JUMP = 5.0


class Clock:
    """The system's clocks: `monotonic()` for waits, `wall()` for what people and the
    database read (epoch seconds)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: tuple[float, float] | None = None

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def jumped(self) -> bool:
        """True once after the wall clock leapt against the monotonic one since the last
        look (a sleep, or the clock set by hand); the caller should try again at once."""
        now = (self.monotonic(), self.wall())
        with self._lock:
            before, self._seen = self._seen, now
        if before is None:
            return False
        return abs((now[1] - before[1]) - (now[0] - before[0])) > JUMP
