"""When to try an upload again after a retryable failure."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .client import RemoteError


@dataclass(frozen=True)
class Backoff:
    base: float = 2.0  # seconds before the second attempt, doubling after that
    cap: float = 300.0
    # The API documents 10 orders per 10 minutes: a 429 without Retry-After means a
    # slot frees up on the scale of a minute, not of seconds.
    rate_limit_wait: float = 60.0
    max_retry_after: float = 3600.0
    # While the API is out of reach one request at a time finds out when it is back: it
    # waits longer each time it fails, but never more than this.
    probe_cap: float = 120.0

    def delay(self, attempt: int, error: RemoteError, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return self._wait(attempt, error, self.cap, rand)

    def probe_delay(
        self, failures: int, error: RemoteError, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds before the next probe once `failures` probes in a row met an outage."""
        return self._wait(failures, error, self.probe_cap, rand)

    def _wait(self, n: int, error: RemoteError, cap: float, rand: Callable[[], float]) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        if error.status == 429:
            return self.rate_limit_wait * (1 + rand() / 4)
        # "Equal jitter": at least half the exponential step, so waits still grow.
        step = min(cap, self.base * 2 ** (n - 1))
        return step / 2 + rand() * step / 2
