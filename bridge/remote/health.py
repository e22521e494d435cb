"""Whether the remote API can be reached: `ok`, `unreachable` or `rate_limited`.

An outage is nobody's photo's fault. When the API cannot be reached or is down, every worker
waits, no photo is charged an attempt, and one request at a time (a real upload: nothing is
ordered twice, and it is work that had to be done anyway) finds out when the API is back;
then every worker resumes at once. A 429 pauses the same way. Waits run on the monotonic
clock; a sleep of the machine ends them at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from ..core.clock import Clock
from .backoff import Backoff
from .client import RemoteError

log = logging.getLogger(__name__)
OK, UNREACHABLE, RATE_LIMITED = "ok", "unreachable", "rate_limited"
# The last attempts across photos that tell "the API fails everything" from "the API fails
# this photo": all of them server errors, on more than one photo, means the former.
RECENT = 4
PROBE_WAIT = 1.0  # seconds the others look again while the probe is under way


class RemoteHealth:
    def __init__(self, backoff: Backoff, clock: Clock):
        self.backoff, self.clock = backoff, clock
        self._lock = threading.Lock()
        self._last_error: str | None = None
        self._state, self._since = OK, clock.wall()
        self._next_try = 0.0  # monotonic
        self._failures = 0  # probes in a row that met the outage
        self._prober: int | None = None  # the thread whose upload is the probe
        self._recent: deque[tuple[str, bool]] = deque(maxlen=RECENT)  # (item, server error)

    @property
    def state(self) -> str:
        return self._state

    def turn(self) -> tuple[float, bool]:
        """(seconds to wait, 0 to go; whether this upload is the single probe). A probe must
        be given back with `release()` once its outcome is reported."""
        with self._lock:
            if self._state == OK:
                return 0.0, False
            wait = self._next_try - self.clock.monotonic()
            if wait > 0:
                return wait, False
            if self._prober is not None:
                return PROBE_WAIT, False
            self._prober = threading.get_ident()
            return 0.0, True

    def release(self) -> None:
        with self._lock:
            if self._prober == threading.get_ident():
                self._prober = None

    def answered(self, item_id: str) -> bool:
        """The API answered about a photo (an order id, or a refusal of that photo). True when
        this ends a pause: every worker should resume."""
        with self._lock:
            self._recent.append((item_id, False))
            if self._state == OK:
                return False
            log.info(
                "the API answers again after being %s since %s",
                self._state.replace("_", " "),
                _hhmmss(self._since),
            )
            self._state, self._since, self._last_error = OK, self.clock.wall(), None
            self._failures = 0
            return True

    def failed(self, item_id: str, error: RemoteError) -> bool:
        """A retryable failure; True when it counts against the photo, False when it was the
        API's (an outage or rate limiting) and the whole pool now waits `next_try`."""
        now = self.clock.monotonic()
        with self._lock:
            probe = self._prober == threading.get_ident()
            if error.status == 429:
                if self._state != RATE_LIMITED:
                    self._state, self._since = RATE_LIMITED, self.clock.wall()
                self._next_try = max(self._next_try, now + self.backoff.delay(1, error))
                self._last_error = str(error)
                return False
            self._recent.append((item_id, True))
            if not (error.outage or self._state == UNREACHABLE or self._everything_fails()):
                return True
            if self._state != UNREACHABLE:
                self._state, self._since, self._failures = UNREACHABLE, self.clock.wall(), 0
                log.warning(
                    "the API is out of reach (%s): uploads wait, none is charged an "
                    "attempt, and one at a time tries again",
                    error,
                )
            if probe or self._failures == 0:
                self._failures += 1
                self._next_try = now + self.backoff.probe_delay(self._failures, error)
            self._last_error = str(error)
            return False

    def _everything_fails(self) -> bool:
        return (
            len(self._recent) == RECENT
            and all(bad for _, bad in self._recent)
            and len({item for item, _ in self._recent}) > 1
        )

    def clock_jumped(self) -> bool:
        """True (once) after the machine slept or its clock was set: a pause ends now."""
        if not self.clock.jumped():
            return False
        with self._lock:
            self._next_try = self.clock.monotonic()
        log.info("the clock jumped (the machine slept?): trying again now")
        return True

    def next_try_wall(self) -> float:
        """When the pool tries again, on the wall clock (for the queue and for people)."""
        with self._lock:
            return self.clock.wall() + max(0.0, self._next_try - self.clock.monotonic())

    def snapshot(self) -> dict:
        """For /v1/health: state, since (epoch s), next_try (epoch s, null when ok), last_error."""
        with self._lock:
            state, since, error = self._state, self._since, self._last_error
        return {
            "state": state,
            "since": since,
            "next_try": None if state == OK else self.next_try_wall(),
            "last_error": error,
        }


def _hhmmss(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))
