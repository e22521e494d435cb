"""What the sandbox received and what it will do next, shared by its routes and its creator."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict

from ..core.clock import Clock
from .book import DEFAULT_PROCESSING, OrderBook
from .faults import Fault, FaultPlan
from .rate_window import RateWindow

API_VERSIONS = ("v3", "v1")


class SandboxState:
    """What the sandbox received and what it will do next; shared with its creator.

    `api` is the version it speaks ("v3" or "v1"): the other version's routes answer 404, as
    the API answers a key of the other kind. `submit_limit` accepted submits per
    `submit_window` seconds of `clock`, per key, then 429 (both may be changed at any time).
    `temp_links_only` leaves `src`/`thumbnail_src` out of v3 results (only `temp_*` links, as
    the docs show them); `result_base` ("http://localhost:<port>/") serves result links from
    another origin than the API's.
    """

    def __init__(
        self,
        max_bytes: int = 50_000_000,
        accepted_keys: set[str] | None = None,
        processing_time: float = DEFAULT_PROCESSING,
        clock: Clock | None = None,
        api: str = "v3",
        submit_limit: int = 10,
        submit_window: float = 600.0,
    ):
        if api not in API_VERSIONS:
            raise ValueError(f"api must be one of {', '.join(API_VERSIONS)}, not {api!r}")
        self.api = api
        self.max_bytes = max_bytes
        self.accepted_keys = accepted_keys  # None: any non-empty key is fine
        self.submit_limit, self.submit_window = submit_limit, submit_window
        self.rate = RateWindow()
        self.temp_links_only = False
        self.result_base: str | None = None  # None: the address the request came to
        self.faults = FaultPlan()  # for uploads
        self.route_faults: dict[str, FaultPlan] = {}  # for the other ROUTES
        self.book = OrderBook(clock or Clock(), processing_time)
        self.injected: Counter[str] = Counter()  # faults injected, by route and kind
        self.received: list[dict] = []  # one entry per uploaded file (and per refused upload)
        # One entry per result picture asked for: {time, picture_id, host, key (a fingerprint,
        # or None when no key came: a result host must never be given it), status}.
        self.downloads: list[dict] = []
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

    def admit_submit(self, key: str) -> bool:
        """Take a slot of the submit limit for this key fingerprint (False: answer 429)."""
        return self.rate.admit(key, self.book.clock.monotonic(), self.submit_limit, self.submit_window)

    def record(self, entry: dict) -> None:
        with self._lock:
            self.received.append(entry)

    def record_download(self, entry: dict) -> None:
        with self._lock:
            self.downloads.append(entry)

    def orders(self) -> list[dict]:
        with self._lock:
            return [r for r in self.received if r.get("order_id")]


def key_fingerprint(key: str) -> str:
    """What the sandbox keeps of a key: enough to check which was sent, useless to a thief."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]
