"""Browser sessions for the status page: one-time login codes traded for a session cookie.

Everything lives in this process's memory, so a cookie is good for this run of the bridge
only: after a restart every earlier cookie and code is refused. A code works once, for a
few minutes; each session has its own CSRF token for the requests that change something.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CODE_TTL = 300.0  # seconds: a browser may take a while to start
MAX_CODES = 32  # codes not yet used; the oldest go first
MAX_SESSIONS = 64
COOKIE = "aihd_session"


@dataclass(frozen=True)
class Session:
    csrf: str
    created: float


def _digest(secret: str) -> str:
    # Only hashes are kept: a code or cookie cannot be read back out of memory dumps or logs.
    return hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, float] = {}  # code digest -> expiry
        self._sessions: dict[str, Session] = {}  # cookie digest -> session

    def new_code(self) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            self._codes = {d: t for d, t in self._codes.items() if t > now}
            while len(self._codes) >= MAX_CODES:
                self._codes.pop(next(iter(self._codes)))
            self._codes[_digest(code)] = now + CODE_TTL
        return code

    def redeem(self, code: str) -> tuple[str, Session] | None:
        """Trade a code for (cookie value, session); None if unknown, used or expired."""
        with self._lock:
            expiry = self._codes.pop(_digest(code), None)  # once only, even when expired
            if expiry is None or expiry <= self._clock():
                return None
            cookie = secrets.token_urlsafe(32)
            session = Session(secrets.token_urlsafe(32), time.time())
            while len(self._sessions) >= MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[_digest(cookie)] = session
        return cookie, session

    def find(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        with self._lock:
            return self._sessions.get(_digest(cookie))

    @staticmethod
    def csrf_ok(session: Session, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(session.csrf.encode(), supplied.encode())
