"""The sandbox's order lifecycle: its catalog, submits, processing time and results.

The catalog is shaped like the real one (spaces for the services that need a room, widgets some
of them mandatory, each with its items), and its ids are random for each sandbox: a client
must read them from the catalog, as it must from the API. A submit is a charge, so the book
counts them per order. Results are made with Pillow from the photo that was sent, visibly
changed (a dusk tint for day to dusk, furniture for staging, ...), and served from the
sandbox's own URLs, with Range support so that a cut download can resume.
"""

from __future__ import annotations

import functools
import io
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from ..clock import Clock
from .sandbox_faults import Fault, cut_response, dropped_response, stalled_response

if TYPE_CHECKING:
    from .sandbox import SandboxState

DEFAULT_PROCESSING = 6.0  # seconds an order takes, from its submit to its results
RESULT_SIDE = 1280  # pixels on the long side of a result at most
SPACES = ("Living room", "Bedroom", "Kitchen", "Dining room", "Home office", "Bathroom")
# Services whose orders need a space: the others take space_name "".
SPACE_SERVICES = ("service-ai-virtual-staging", "service-creative-designer")
_STYLES = ("Modern", "Scandinavian", "Industrial", "Coastal", "Farmhouse", "Mid-century")
# service -> widgets: (title, type, optional, items)
WIDGETS: dict[str, tuple[tuple[str, str, bool, tuple[str, ...]], ...]] = {
    "service-ai-virtual-staging": (
        ("Style", "style", False, _STYLES),
        ("Furniture", "density", True, ("Light", "Full")),
    ),
    "service-creative-designer": (
        ("Style", "style", False, _STYLES),
        ("Colour palette", "color", True, ("Warm", "Cool", "Neutral")),
    ),
    "service-day-to-dusk": (
        ("Sky", "sky", True, ("Blue hour", "Golden hour", "Pink sunset")),
        ("Window lights", "lights", True, ("On", "Off")),
    ),
    "service-item-removal": (("Removal", "removal", True, ("Everything movable", "Clutter only")),),
    "service-image-enhancement": (("Finish", "finish", True, ("Natural", "Vivid")),),
}
RESULTS_PER_ORDER = {"service-creative-designer": 2}  # variations; the others make one


def _new_id() -> str:
    return secrets.token_hex(12)


def space_name(title: str) -> str:
    return "space-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class SandboxCatalog:
    """Spaces and widgets with ids of this sandbox alone; `rotate` gives them new ids (the API
    may change them: a client must refresh what it cached when told an id is unknown)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.rotate()

    def rotate(self) -> None:
        with self._lock:
            self._widgets: dict[str, list[dict[str, Any]]] = {
                service: [
                    {
                        "id": _new_id(),
                        "title": title,
                        "description": f"{title} of the result",
                        "is_optional": optional,
                        "priority": n + 1,
                        "type": kind,
                        "items": [
                            {
                                "id": _new_id(),
                                "title": item,
                                "prompt": item.lower(),
                                "icon_src": "",
                                "is_premium": False,
                            }
                            for item in items
                        ],
                    }
                    for n, (title, kind, optional, items) in enumerate(widgets)
                ]
                for service, widgets in WIDGETS.items()
            }
            self._spaces = [
                {
                    "id": _new_id(),
                    "name": space_name(title),
                    "title": title,
                    "description": f"a {title.lower()}",
                    "prompt": title.lower(),
                    "icon_src": "",
                    "is_active": True,
                    "is_premium": False,
                }
                for title in SPACES
            ]

    def spaces(self, service: str) -> list[dict]:
        return [dict(s) for s in self._spaces] if service in SPACE_SERVICES else []

    def widgets(self, service: str) -> list[dict]:
        with self._lock:
            return [{**w, "items": [dict(i) for i in w["items"]]} for w in self._widgets.get(service, [])]

    def widget(self, widget_id: str) -> dict | None:
        with self._lock:
            return next((w for ws in self._widgets.values() for w in ws if w["id"] == widget_id), None)

    def check(self, service: str, space: str, selected) -> tuple[str, str] | None:
        """(error, key) for a submit this catalog does not allow; None when it does. Returns
        the labels chosen through `labels` below."""
        if service in SPACE_SERVICES:
            if space not in {s["name"] for s in self._spaces}:
                return f"space_name {space!r} is not a space of {service}", "invalid_space_name"
        elif space:
            return f"{service} takes no space_name", "invalid_space_name"
        if not isinstance(selected, list):
            return "selected_widgets must be a list", "invalid_widget"
        widgets = {w["id"]: w for w in self.widgets(service)}
        for choice in selected:
            widget = widgets.get(choice.get("id")) if isinstance(choice, dict) else None
            if widget is None:
                return f"unknown widget id {choice.get('id') if isinstance(choice, dict) else choice!r}", (
                    "invalid_widget"
                )
            if choice.get("item_id") not in {i["id"] for i in widget["items"]}:
                return f"unknown item id {choice.get('item_id')!r} for widget {widget['title']}", (
                    "invalid_widget_item"
                )
        chosen = {c["id"] for c in selected}
        for widget in widgets.values():
            if not widget["is_optional"] and widget["id"] not in chosen:
                return f"widget {widget['title']} is required", "widget_required"
        return None

    def labels(self, service: str, selected: list[dict]) -> dict[str, str]:
        widgets = {w["id"]: w for w in self.widgets(service)}
        out = {}
        for choice in selected:
            widget = widgets[choice["id"]]
            out[widget["title"]] = next(i["title"] for i in widget["items"] if i["id"] == choice["item_id"])
        return out


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
        order = SandboxOrder(order_id, service, _preview(photo))
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


def _preview(photo: IO[bytes]) -> bytes | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(photo) as source:
            source.draft("RGB", (RESULT_SIDE, RESULT_SIDE))  # JPEG: decode at a fraction of the size
            im = source.convert("RGB")
        im.thumbnail((RESULT_SIDE, RESULT_SIDE))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=90)
        return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None  # a RAW or a damaged file: its results are drawn from nothing


def render(preview: bytes | None, service: str, choices: dict[str, str], variation: int) -> bytes:
    """A result that visibly differs from the photo, in the way the service would change it."""
    from PIL import Image, ImageDraw, ImageEnhance, ImageOps

    if preview is None:
        im = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    else:
        im = Image.open(io.BytesIO(preview)).convert("RGB")
    w, h = im.size
    if service == "service-day-to-dusk":
        dark = ImageEnhance.Brightness(im).enhance(0.45)
        sky = {"Golden hour": (255, 150, 60), "Pink sunset": (240, 110, 160)}.get(
            choices.get("Sky", ""), (40, 60, 150)
        )
        tint = Image.new("RGB", im.size, sky)
        im = Image.blend(dark, tint, 0.35)
        if choices.get("Window lights", "On") == "On":
            draw = ImageDraw.Draw(im)
            for n in range(3):  # lit windows
                x = w * (0.2 + 0.25 * n)
                draw.rectangle((x, h * 0.55, x + w * 0.08, h * 0.7), fill=(255, 210, 120))
    elif service in ("service-ai-virtual-staging", "service-creative-designer"):
        palette = {"Warm": (170, 90, 50), "Cool": (60, 100, 150), "Neutral": (150, 140, 130)}
        colour = palette.get(choices.get("Colour palette", ""), (90 + 30 * variation, 70, 60))
        if service == "service-creative-designer":
            im = ImageOps.posterize(im, 3)
        draw = ImageDraw.Draw(im)
        draw.rectangle((w * 0.15, h * 0.6, w * 0.65, h * 0.85), fill=colour)  # a sofa
        draw.rectangle((w * 0.7, h * 0.7, w * 0.85, h * 0.85), fill=(200, 190, 170))  # a table
    elif service == "service-item-removal":
        im = ImageOps.grayscale(im).convert("RGB")
        im = Image.blend(im, Image.new("RGB", im.size, (235, 235, 230)), 0.5)
    else:  # image enhancement
        im = ImageOps.autocontrast(im, cutoff=2)
        im = ImageEnhance.Color(im).enhance(1.6 if choices.get("Finish") == "Vivid" else 1.3)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()


def _fault_first(state: SandboxState, route: str) -> tuple[Fault | None, Response | tuple | None]:
    """The fault for this request, and the answer it makes instead of the real one (if any):
    a delay, a dropped connection or an error status. `lost`, `cut` and `fail_processing`
    are the route's own to apply."""
    if state.unreachable():
        return None, dropped_response()
    fault = state.fault(route)
    if fault is None:
        return None, None
    if fault.delay:
        time.sleep(fault.delay)
    if fault.drop:
        return fault, dropped_response()
    if fault.status:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if fault.body is not None:
            return fault, Response(fault.body, fault.status, headers, content_type="text/html")
        return fault, (jsonify(error=f"injected fault {fault.status}", key="injected"), fault.status, headers)
    return fault, None


def add_order_routes(app: Flask, state: SandboxState) -> None:
    book = state.book

    def keyed(route: str):
        """A route that needs the key and meets `route`'s faults; the view gets the fault."""

        def wrap(view):
            @functools.wraps(view)
            def guarded(*args, **kwargs):
                fault, early = _fault_first(state, route)
                if early is not None:
                    return early
                if not request.headers.get("x-api-key"):
                    return jsonify(error="missing api key"), 401
                return view(fault, *args, **kwargs)

            return guarded

        return wrap

    @app.get("/v1/catalog/spaces")
    @keyed("catalog")
    def catalog_spaces(_fault):
        service = request.args.get("service_name", "")
        return jsonify(data=book.catalog.spaces(service))

    @app.get("/v1/catalog/items/filter")
    @keyed("catalog")
    def catalog_widgets(_fault):
        service = request.args.get("service_name", "")
        space = request.args.get("space_name", "")
        if service in SPACE_SERVICES and space not in {s["name"] for s in book.catalog.spaces(service)}:
            return jsonify(
                error=f"space_name {space!r} is not a space of {service}", key="invalid_space_name"
            ), 400
        return jsonify(data=book.catalog.widgets(service))

    @app.get("/v1/catalog/widgets/<widget_id>/items")
    @keyed("catalog")
    def widget_items(_fault, widget_id: str):
        widget = book.catalog.widget(widget_id)
        if widget is None:
            return jsonify(error=f"unknown widget id {widget_id}", key="invalid_widget"), 404
        return jsonify(data=[i | {"widget_id": widget_id} for i in widget["items"]])

    @app.post("/v1/order")
    @keyed("submit")
    def submit(fault):
        answer, status = book.submit(request.get_json(silent=True), fault)
        if status == 200 and book.on_submit:
            book.on_submit(answer["order_id"])
        if fault and fault.lost and status == 200:  # taken and charged; the answer never arrives
            return dropped_response()
        return jsonify(answer), status

    @app.get("/v1/order/<order_id>")
    @keyed("order")
    def order(_fault, order_id: str):
        answer = book.status(order_id, request.host_url)
        if answer is None:
            return jsonify(error=f"order {order_id} not found", key="order_not_found"), 404
        return jsonify(answer)

    @app.get("/results/<image_id>.jpg")
    def result(image_id: str):
        """A result, as a CDN would serve it: no key needed, the address is the secret."""
        fault, early = _fault_first(state, "download")
        if early is not None:
            return early
        data = book.result(image_id)
        if data is None:
            return jsonify(error="no such image"), 404
        status, headers, body = 200, {"Accept-Ranges": "bytes"}, data
        wanted = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if wanted and int(wanted.group(1)) < len(data):
            start = int(wanted.group(1))
            status, body = 206, data[start:]
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if fault and fault.cut:
            return cut_response(body, status, headers, "image/jpeg")
        if fault and fault.stall:
            return stalled_response(body, status, headers, "image/jpeg", fault.stall)
        return Response(body, status, headers, mimetype="image/jpeg")
