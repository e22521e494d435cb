"""The API's pace for submits: at most `limit` per `window` seconds (10 per 10 minutes, per
user), sliding, across every item and host of this bridge.

The API counts a submit from when it took it, which can be later than when it was sent, so a
slot here counts from when its answer (or its failure) arrived, and a submit under way holds a
slot until then. Submits beyond the limit wait, none fails for it; `outlook` says when the next
and the last of those waiting will go, which is what a photographer wants to know at 6 pm.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from dataclasses import dataclass

from ..core.clock import Clock


@dataclass(frozen=True)
class Outlook:
    limit: int
    window: float
    waiting: int
    next_at: float | None  # wall time the next waiting submit goes; None when none waits
    last_at: float | None  # wall time the last of them goes

    @property
    def note(self) -> str | None:
        """`36 waiting: the API takes 10 submits per 10 minutes; the last goes at 16:40`."""
        if not self.waiting:
            return None
        minutes = self.window / 60
        per = f"{minutes:g} minutes" if minutes != 1 else "minute"
        last = time.strftime("%H:%M", time.localtime(self.last_at)) if self.last_at else "soon"
        return (
            f"{self.waiting} waiting: the API takes {self.limit} submits per {per}; the last goes at {last}"
        )

    def as_dict(self) -> dict:
        return {
            "limit": self.limit,
            "window": self.window,
            "waiting": self.waiting,
            "next_at": self.next_at,
            "last_at": self.last_at,
            "note": self.note,
        }


class SubmitLimit:
    def __init__(self, limit: int, window: float, clock: Clock | None = None):
        self.limit, self.window = max(1, limit), max(0.0, window)
        self.clock = clock or Clock()
        self._done: deque[float] = deque()  # monotonic times answers arrived, oldest first
        self._under_way = 0
        self._lock = threading.Lock()

    def seed(self, wall_times: list[float]) -> None:
        """Slots taken before this start (from the store's submit times), so that a restart
        does not send a burst the API would refuse."""
        offset = self.clock.monotonic() - self.clock.wall()
        with self._lock:
            self._done = deque(sorted(t + offset for t in wall_times))
            self._expire()

    def _expire(self) -> None:
        horizon = self.clock.monotonic() - self.window
        while self._done and self._done[0] <= horizon:
            self._done.popleft()

    def try_take(self) -> float:
        """Take a slot for a submit about to be sent: 0 when taken, else the seconds until one
        may be free (ask again then)."""
        with self._lock:
            self._expire()
            if len(self._done) + self._under_way < self.limit:
                self._under_way += 1
                return 0.0
            if not self._done:  # every slot is held by a submit under way: its answer frees none soon
                return self.window
            return max(0.01, self._done[0] + self.window - self.clock.monotonic())

    def answered(self) -> None:
        """The taken slot's submit got its answer (or failed): it counts from now."""
        with self._lock:
            self._under_way = max(0, self._under_way - 1)
            self._done.append(self.clock.monotonic())

    def outlook(self, waiting: int) -> Outlook:
        """When the next and the last of `waiting` submits go, at this pace."""
        now_mono, now_wall = self.clock.monotonic(), self.clock.wall()
        with self._lock:
            self._expire()
            # The time each slot comes free: the ones held now, then each one a waiting submit takes.
            frees = [t + self.window for t in self._done] + [now_mono + self.window] * self._under_way
        free_now = self.limit - len(frees)
        heapq.heapify(frees)
        goes: list[float] = []
        for n in range(waiting):
            if n < free_now:
                at = now_mono
            else:
                at = max(now_mono, heapq.heappop(frees))
            heapq.heappush(frees, at + self.window)
            goes.append(at)
        to_wall = now_wall - now_mono
        return Outlook(
            self.limit,
            self.window,
            waiting,
            goes[0] + to_wall if goes else None,
            goes[-1] + to_wall if goes else None,
        )
