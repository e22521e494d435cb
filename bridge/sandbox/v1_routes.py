"""The v1 sandbox's routes, as documented (reference §4): upload, catalog, submit, details.

Successes are bare JSON (the catalog's lists in `data`), errors `{"error", "key"}` with keys
in the `api_error_...` form, except the upload without a file, documented without a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, g, jsonify, request

from ..photo.tools import tools
from .envelope import error
from .faults import dropped_response
from .gate import keyed
from .ids import new_order_id
from .uploads import Upload, read_file, receiving, spooled
from .v1_catalog import SPACES

if TYPE_CHECKING:
    from .state import SandboxState


def v1_services() -> set[str]:
    """The five v1 service names (the tools only v3 has are no v1 service)."""
    return {t.v1 for t in tools().values() if t.v1}


def add_v1_routes(app: Flask, state: SandboxState) -> None:
    _upload_route(app, state)
    _catalog_routes(app, state)
    _order_routes(app, state)


def _upload_route(app: Flask, state: SandboxState) -> None:
    book = state.book

    @app.post("/v1/order/image")
    @receiving(state, "v1")
    def order_image(upload: Upload):
        image = request.files.get("image")
        if image is None:
            return upload.refuse(400, "http: no such file")
        with spooled() as kept:
            entry = upload.entry
            entry.update(read_file(image, kept), service_name=request.form.get("service_name"))
            if not entry["service_name"]:
                return upload.refuse(400, "service_name is required", "missing_field")
            if entry["service_name"] not in v1_services():
                return upload.refuse(
                    400, f"invalid service_name: {entry['service_name']}", "invalid_service_name"
                )
            if entry["size"] > state.max_bytes:
                return upload.refuse(413, "file too large", "file_too_large")
            late = upload.late_fault([entry])
            if late is not None:
                return late
            entry.update(status=200, order_id=new_order_id())
            book.v1.add(entry["order_id"], entry["service_name"], kept, f"user-{entry['key']}")
        state.record(entry)
        if state.on_order:
            state.on_order(entry)
        lost = upload.lost()  # the order is made, but its id never reaches the client
        return lost if lost is not None else jsonify(order_id=entry["order_id"])


def _service_refusal(service: str | None):
    if service not in v1_services():
        return error(400, f"invalid service_name: {service}", "invalid_service_name")
    return None


def _catalog_routes(app: Flask, state: SandboxState) -> None:
    book = state.book

    @app.get("/v1/catalog/spaces")
    @app.get("/v1/spaces")  # the path the Kotlin client uses (reference §4.4)
    @keyed(state, "catalog")
    def catalog_spaces(_fault):
        service = request.args.get("service_name") or None
        refused = _service_refusal(service) if service else None
        return refused or jsonify(data=book.catalog.spaces(service))

    @app.get("/v1/catalog/items/filter")
    @keyed(state, "catalog")
    def catalog_widgets(_fault):
        service = request.args.get("service_name", "")
        space = request.args.get("space_name", "")
        refused = _service_refusal(service)
        if refused:
            return refused
        if service in SPACES and space not in {s["name"] for s in book.catalog.spaces(service)}:
            return error(400, f"space_name {space!r} is not a space of {service}", "invalid_space_name")
        return jsonify(data=book.catalog.widgets(service))

    @app.get("/v1/catalog/widgets/<widget_id>/items")
    @keyed(state, "catalog")
    def widget_items(_fault, widget_id: str):
        widget = book.catalog.widget(widget_id)
        if widget is None:
            return error(404, f"unknown widget id {widget_id}", "widget_not_found")
        return jsonify(data=[i | {"widget_id": widget_id, "is_active": True} for i in widget["items"]])


def _order_routes(app: Flask, state: SandboxState) -> None:
    book = state.book

    @app.post("/v1/order")
    @keyed(state, "submit")
    def submit(fault):
        answer, status = book.v1.submit(
            request.get_json(silent=True), fault, lambda: state.admit_submit(g.key)
        )
        if status == 200 and book.on_submit:
            book.on_submit(answer["order_id"])
        if fault and fault.lost and status == 200:  # taken and charged; the answer never arrives
            return dropped_response()
        return jsonify(answer), status

    @app.get("/v1/order/<order_id>")
    @keyed(state, "order", arrival=lambda order_id: book.poll(order_id))
    def order(_fault, order_id: str):
        answer = book.v1.details(order_id, state.result_base or request.host_url)
        if answer is None:
            return error(404, "order not found", "order_not_found")
        return jsonify(answer)
