"""The sandbox's ledger: what was submitted (charged) and polled, and the pictures it serves.

A submit is a charge, on either version, so the book counts them per order id, with every
submit request and the repeats (a second charge for what was already taken). Each version
keeps its orders in its own module (`v1_book.py`, `v3_book.py`) and its results here, served
from the sandbox's own URLs (`results_routes.py`).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable

from ..core.clock import Clock
from .v1_book import V1Orders
from .v1_catalog import SandboxCatalog
from .v3_book import V3Orders

DEFAULT_PROCESSING = 6.0  # seconds an order or process takes, from its submit to its results


class OrderBook:
    """Both versions' orders, and what was submitted, charged and polled."""

    def __init__(self, clock: Clock, processing_time: float):
        self.clock, self.processing_time = clock, processing_time
        self.catalog = SandboxCatalog()  # v1's; v3 has none (bridge/photo/tools.toml stands in)
        self.charges: Counter[str] = Counter()  # accepted submits per order
        self.requests: Counter[str] = Counter()  # submit requests per order, refused ones too
        # Submits of what was already submitted: v1 refuses them, v3 takes them as a second
        # process (and a second charge). Either way a client must ask, never resend blindly.
        self.repeats: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()  # submits refused with the limit's 429
        # Times (clock.monotonic()) of each look at a v3 process or a v1 order, by its id, faulted
        # answers too: how a test checks that a client polls no faster than every 5 s.
        self.polls: defaultdict[str, list[float]] = defaultdict(list)
        # Called with the order id once a submit is charged, before the answer leaves (tests
        # use it to crash the client at that very moment).
        self.on_submit: Callable[[str], None] | None = None
        self._results: dict[str, bytes] = {}  # picture id -> JPEG
        self.lock = threading.Lock()  # for everything above and both versions' orders
        self.v1 = V1Orders(self)
        self.v3 = V3Orders(self)

    def counts(self) -> dict:
        with self.lock:
            return {
                "charges": dict(self.charges),
                "requests": dict(self.requests),
                "repeats": dict(self.repeats),
                "rate_limited": dict(self.rate_limited),
            }

    def count_request(self, order_id: str) -> None:
        with self.lock:
            self.requests[order_id] += 1

    def count_rate_limited(self, order_id: str) -> None:
        with self.lock:
            self.rate_limited[order_id] += 1

    def poll(self, target_id: str) -> None:
        with self.lock:
            self.polls[target_id].append(self.clock.monotonic())

    def keep(self, picture_id: str, data: bytes) -> None:
        """Serve `data` at results/<picture_id>.jpg (call with `lock` held)."""
        self._results[picture_id] = data

    def result(self, picture_id: str) -> bytes | None:
        with self.lock:
            return self._results.get(picture_id)
