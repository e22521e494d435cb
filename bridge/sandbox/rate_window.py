"""The API's submit limit: at most `limit` accepted submits per `window` seconds, sliding, per
key (reference §1.5: "10 generates per 10 minutes"; sliding is inferred from that text)."""

from __future__ import annotations

import threading
from collections import defaultdict, deque


class RateWindow:
    def __init__(self):
        self._taken: dict[str, deque[float]] = defaultdict(deque)  # key -> times of accepted submits
        self._lock = threading.Lock()

    def admit(self, key: str, now: float, limit: int, window: float) -> bool:
        """Take a slot for `key` at `now` if one is free; False: the submit is refused (429)."""
        with self._lock:
            taken = self._taken[key]
            while taken and taken[0] <= now - window:
                taken.popleft()
            if len(taken) >= limit:
                return False
            taken.append(now)
            return True
