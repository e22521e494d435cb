"""The v1 sandbox's orders: upload, submit, and the order details as documented (§4.7).

The details' top-level `status` is always "idle", before a submit and beside a finished result,
as in the documented sample. `generated_images` is empty until a submit is taken; then it has
an entry per result, with status "processing" and no `src` until the order's processing time
has passed, then "regular_finished" with its `src`. How v1 tells a failed order is not
documented (§6): here its images get status "failed", an empty `src` and the reason in
`comment` [inferred].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from ..photo.tools import tool_for
from .envelope import RATE_LIMITED
from .faults import Fault
from .ids import iso, new_id
from .imaging import VARIATIONS, preview, render
from .v1_bodies import check_body

if TYPE_CHECKING:
    from .book import OrderBook

FAILED_COMMENT = "the image could not be processed"


@dataclass
class V1Order:
    order_id: str
    service: str
    user: str
    preview: bytes | None  # the photo sent, downscaled to a JPEG; None when Pillow cannot read it
    created_at: float  # wall clock
    submitted_at: float | None = None  # monotonic
    submitted_wall: float = 0.0
    space: str = ""
    choices: dict[str, str] = field(default_factory=dict)  # widget title -> item title(s)
    remove_shadow: bool = False
    fails: bool = False
    image_id: str = field(default_factory=new_id)  # the photo's (before_image_id)
    result_ids: list[str] = field(default_factory=list)  # generated images, named at the submit
    rendered: bool = False


class V1Orders:
    def __init__(self, book: OrderBook):
        self.book = book
        self._orders: dict[str, V1Order] = {}

    def add(self, order_id: str, service: str, photo: IO[bytes], user: str) -> None:
        photo.seek(0)
        order = V1Order(order_id, service, user, preview(photo), self.book.clock.wall())
        with self.book.lock:
            self._orders[order_id] = order
            if order.preview is not None:
                self.book.keep(order.image_id, order.preview)

    def submit(self, payload, fault: Fault | None, admit: Callable[[], bool]) -> tuple[dict, int]:
        """(answer, status); `admit` takes a slot of the rate limit (False: 429)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("order_id"), str):
            return {"error": "order_id is required", "key": "api_error_order_id_required"}, 400
        book, order_id = self.book, payload["order_id"]
        with book.lock:
            book.requests[order_id] += 1
            order = self._orders.get(order_id)
            if order is None:
                return {"error": "order not found", "key": "api_error_order_not_found"}, 404
            if order.submitted_at is not None:
                book.repeats[order_id] += 1
                return {"error": "order already submitted", "key": "api_error_order_already_submitted"}, 400
            refused = check_body(order.service, payload, book.catalog)
            if refused:
                return {"error": refused[0], "key": f"api_error_{refused[1]}"}, 400
            if not admit():
                book.rate_limited[order_id] += 1
                return {"error": RATE_LIMITED}, 429
            order.space = payload.get("space_name") or ""
            order.choices = book.catalog.labels(order.service, payload.get("selected_widgets") or [])
            order.remove_shadow = bool(payload.get("remove_shadow"))
            order.submitted_at, order.submitted_wall = book.clock.monotonic(), book.clock.wall()
            order.fails = bool(fault and fault.fail_processing)
            order.result_ids = [new_id() for _ in range(VARIATIONS.get(order.service, 1))]
            book.charges[order_id] += 1
        eta = max(1, math.ceil(book.processing_time))  # whole seconds, as the API's
        return {"order_id": order_id, "image_id": order.image_id, "eta": eta}, 200

    def details(self, order_id: str, base_url: str) -> dict | None:
        book = self.book
        with book.lock:
            order = self._orders.get(order_id)
            if order is None:
                return None
            images = self._images(order, base_url)
        tool = tool_for(order.service)
        return {
            "id": order.order_id,
            "user_id": order.user,
            "email": f"{order.user}@sandbox.invalid",
            "before_image_id": order.image_id,
            "before_image_src": f"{base_url}results/{order.image_id}.jpg" if order.preview else "",
            "space": order.space,
            "status": "idle",  # always, as documented: it says nothing about the submit
            "service": {
                "ID": f"sandbox-{order.service}",
                "name": order.service,
                "title": f"AI {tool.title}" if tool else order.service,
                "steps": "1",
                "credit": 1,
                "price": 0,
                "need_segment": False,
                "description": "",
                "result_count": VARIATIONS.get(order.service, 1),
                "generate_tool_name": "",
                "service_type": "real-estate-hub",
                "prompt": "",
                "ai_service_segment_type": "",
                "need_object_validation": False,
                "required_space": bool(tool and tool.space),
                "required_widgets": [],
            },
            "service_name": order.service,
            "object": "",
            "sample_image_used": False,
            "generated_images": images,
            "created_at": iso(order.created_at),
        }

    def _images(self, order: V1Order, base_url: str) -> list[dict]:
        """The generated images (with `book.lock` held); rendered at the first look once done."""
        if order.submitted_at is None:
            return []
        book = self.book
        done = book.clock.monotonic() - order.submitted_at >= book.processing_time
        if done and not order.fails and not order.rendered:
            for n, image_id in enumerate(order.result_ids):
                book.keep(image_id, render(order.preview, order.service, order.choices, n))
            order.rendered = True
        status = "processing" if not done else "failed" if order.fails else "regular_finished"
        sky = order.choices.get("Sky Style", "")
        return [
            {
                "id": image_id,
                "using_free_plan": False,
                "sequence": n + 1,
                "src": f"{base_url}results/{image_id}.jpg" if status == "regular_finished" else "",
                "segmented_image_id": "",
                "prompt": ", ".join(order.choices.values()),
                "sky_style": sky,
                "shadow_removal": order.remove_shadow,
                "status": status,
                "order_id": order.order_id,
                "space": order.space,
                "comment": FAILED_COMMENT if status == "failed" else "",
                "updated_at": "0001-01-01T00:00:00Z",
                "created_at": iso(order.submitted_wall),
            }
            for n, image_id in enumerate(order.result_ids)
        ]
