"""What the sandbox received and what it will do next, shared by its routes and its creator."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict

from ..clock import Clock
from .book import DEFAULT_PROCESSING, OrderBook
from .faults import Fault, FaultPlan


class SandboxState:
    """What the sandbox received and what it will do next; shared with its creator."""

    def __init__(
        self,
        max_bytes: int = 50_000_000,
        accepted_keys: set[str] | None = None,
        processing_time: float = DEFAULT_PROCESSING,
        clock: Clock | None = None,
    ):
        self.max_bytes = max_bytes
        self.accepted_keys = accepted_keys  # None: any non-empty key is fine
        self.faults = FaultPlan()  # for uploads
        self.route_faults: dict[str, FaultPlan] = {}  # for the other ROUTES
        self.book = OrderBook(clock or Clock(), processing_time)
        self.injected: Counter[str] = Counter()  # faults injected, by route and kind
        self.received: list[dict] = []
        self.control_token = secrets.token_urlsafe(32)  # for /_sandbox/received and /faults
        # Called with each order once it is made, before the answer leaves (tests use it to
        # crash the client at that very moment).
        self.on_order: Callable[[dict], None] | None = None
        self._away_until = 0.0  # monotonic: until then every connection is cut unanswered
        self._lock = threading.Lock()

    def unreachable_for(self, seconds: float) -> None:
        """Be out of reach for that long (0: back now), as when the network is away."""
        self._away_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def unreachable(self) -> bool:
        return time.monotonic() < self._away_until

    def fault(self, route: str) -> Fault | None:
        """The next fault for a request to `route` (one of ROUTES), if one is due."""
        plan = self.faults if route == "upload" else self.route_faults.get(route)
        fault = plan.next() if plan else None
        if fault is not None:  # counted by route and kind ("submit lost", "download cut", ...)
            kind = next((k for k, v in asdict(fault).items() if v and k != "retry_after"), "none")
            with self._lock:
                self.injected[f"{route} {kind}"] += 1
        return fault

    def record(self, entry: dict) -> None:
        with self._lock:
            self.received.append(entry)

    def orders(self) -> list[dict]:
        with self._lock:
            return [r for r in self.received if r.get("order_id")]


def key_fingerprint(key: str) -> str:
    """What the sandbox keeps of a key: enough to check which was sent, useless to a thief."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]
