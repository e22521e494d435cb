"""The v1 sandbox's routes: catalog, submit, order details, and the results' downloads."""

from __future__ import annotations

import functools
import re
import time
from typing import TYPE_CHECKING

from flask import Flask, Response, jsonify, request

from .faults import Fault, cut_response, dropped_response, stalled_response
from .v1_catalog import SPACE_SERVICES

if TYPE_CHECKING:
    from .state import SandboxState


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
