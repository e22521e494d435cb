"""The sandbox's orders: what was submitted (charged), processing time and results.

The catalog is shaped like the real one (spaces for the services that need a room, widgets some
of them mandatory, each with its items), and its ids are random for each sandbox: a client
must read them from the catalog, as it must from the API. A submit is a charge, so the book
counts them per order. Results are made with Pillow from the photo that was sent, visibly
changed (a dusk tint for day to dusk, furniture for staging, ...), and served from the
sandbox's own URLs, with Range support so that a cut download can resume.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from ..clock import Clock
from .faults import Fault
from .imaging import preview, render
from .v1_catalog import SandboxCatalog, _new_id

DEFAULT_PROCESSING = 6.0  # seconds an order takes, from its submit to its results
RESULTS_PER_ORDER = {"service-creative-designer": 2}  # variations; the others make one


@dataclass
class SandboxOrder:
    order_id: str
    service: str
    preview: bytes | None  # the photo sent, downscaled to a JPEG; None when Pillow cannot read it
    submitted_at: float | None = None  # monotonic
    space: str = ""
    choices: dict[str, str] = field(default_factory=dict)  # widget title -> item title
    fails: bool = False
    image_id: str = field(default_factory=_new_id)
    images: list[dict] = field(default_factory=list)  # {"id", "sequence", "data"}


class OrderBook:
    """The sandbox's orders; what was submitted (charged) and how often it was asked to."""

    def __init__(self, clock: Clock, processing_time: float):
        self.clock, self.processing_time = clock, processing_time
        self.catalog = SandboxCatalog()
        self.charges: Counter[str] = Counter()  # accepted submits per order
        self.requests: Counter[str] = Counter()  # submit requests per order, refused ones too
        # Submits of orders already submitted: refused here, but each would be a second charge
        # on an API that took it (a client must ask, never resend blindly).
        self.repeats: Counter[str] = Counter()
        # Called with the order id once a submit is charged, before the answer leaves (tests
        # use it to crash the client at that very moment).
        self.on_submit: Callable[[str], None] | None = None
        self._orders: dict[str, SandboxOrder] = {}
        self._results: dict[str, tuple[bytes, str]] = {}  # image id -> (data, order id)
        self._lock = threading.Lock()

    def add(self, order_id: str, service: str, photo: IO[bytes]) -> None:
        photo.seek(0)
        order = SandboxOrder(order_id, service, preview(photo))
        with self._lock:
            self._orders[order_id] = order
            if order.preview is not None:
                self._results[order.image_id] = (order.preview, order_id)

    def counts(self) -> dict:
        with self._lock:
            return {
                "charges": dict(self.charges),
                "requests": dict(self.requests),
                "repeats": dict(self.repeats),
            }

    def result(self, image_id: str) -> bytes | None:
        with self._lock:
            found = self._results.get(image_id)
        return found[0] if found else None

    def submit(self, payload, fault: Fault | None) -> tuple[dict, int]:
        if not isinstance(payload, dict) or not isinstance(payload.get("order_id"), str):
            return {"error": "order_id is required", "key": "order_id_required"}, 400
        order_id = payload["order_id"]
        with self._lock:
            self.requests[order_id] += 1
            order = self._orders.get(order_id)
            if order is None:
                return {"error": f"order {order_id} not found", "key": "order_not_found"}, 404
            if order.submitted_at is not None:
                self.repeats[order_id] += 1
                return {"error": "order already submitted", "key": "order_already_submitted"}, 400
            space = payload.get("space_name") or ""
            selected = payload.get("selected_widgets") or []
            refused = self.catalog.check(order.service, space, selected)
            if refused:
                return {"error": refused[0], "key": refused[1]}, 400
            order.space, order.choices = space, self.catalog.labels(order.service, selected)
            order.submitted_at = self.clock.monotonic()
            order.fails = bool(fault and fault.fail_processing)
            self.charges[order_id] += 1
        return {"order_id": order_id, "image_id": order.image_id, "eta": self.processing_time}, 200

    def status(self, order_id: str, base_url: str) -> dict | None:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return None
            if order.submitted_at is None:
                state, images = "uploaded", []
            elif self.clock.monotonic() - order.submitted_at < self.processing_time:
                state = "processing"
                count = RESULTS_PER_ORDER.get(order.service, 1)
                images = [
                    {"id": None, "sequence": n + 1, "src": None, "status": "processing"} for n in range(count)
                ]
            elif order.fails:
                state, images = "failed", []
            else:
                state, images = "finished", self._finished_images(order, base_url)
        answer = {
            "id": order.order_id,
            "status": state,
            "service_name": order.service,
            "space": order.space,
            "before_image_src": f"{base_url}results/{order.image_id}.jpg" if order.preview else None,
            "generated_images": images,
        }
        if state == "failed":
            answer["error"] = "the image could not be processed"
        return answer

    def _finished_images(self, order: SandboxOrder, base_url: str) -> list[dict]:
        if not order.images:  # made once, at the first look after processing
            for n in range(RESULTS_PER_ORDER.get(order.service, 1)):
                data = render(order.preview, order.service, order.choices, n)
                image_id = _new_id()
                order.images.append({"id": image_id, "sequence": n + 1})
                self._results[image_id] = (data, order.order_id)
        return [
            {
                "id": i["id"],
                "sequence": i["sequence"],
                "src": f"{base_url}results/{i['id']}.jpg",
                "status": "regular_finished",
            }
            for i in order.images
        ]
