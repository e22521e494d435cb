"""An embedded stand-in for the AI HomeDesign API, for trying things without a key and for tests.

Faithful to the documented contract, plain about the undocumented parts, and able to
inject faults (statuses with Retry-After, delays, dropped connections, answers lost after the
work was done, downloads cut half-way, a spell of being out of reach) on request, on every
route. The order lifecycle (catalog, submit, processing, results) is in `v1_routes.py` and `book.py`.
Control endpoints live under /_sandbox/ and exist only here. Like the bridge, it answers only
requests addressed to 127.0.0.1 or localhost and none from a web page; the control endpoints
also need its `control_token` (the bridge's embedded sandbox never tells it anyone).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from dataclasses import asdict

from flask import Flask, Response, jsonify, request

from ..localguard import bearer_ok, refusal
from ..services import services
from .faults import ROUTES, Fault, FaultPlan, QuietDrops, dropped_response
from .state import SandboxState, key_fingerprint
from .v1_routes import add_order_routes

ORDER_PREFIX = "sandbox-"


def create_sandbox_app(state: SandboxState | None = None) -> Flask:
    state = state or SandboxState()
    app = Flask("aihd-sandbox")
    # Bound what is read at all; the exact API limit is checked on the file itself below.
    app.config["MAX_CONTENT_LENGTH"] = state.max_bytes + 1_000_000
    app.extensions["sandbox"] = state
    waitress_log = logging.getLogger("waitress")
    if not any(isinstance(f, QuietDrops) for f in waitress_log.filters):
        waitress_log.addFilter(QuietDrops())

    @app.before_request
    def guard():
        refused = refusal(request.host, request.headers.get("Origin"), request.method, None)
        if refused:
            return jsonify(error=refused), 403
        if request.path.startswith("/_sandbox/") and not bearer_ok(
            request.headers.get("Authorization", ""), state.control_token
        ):
            return jsonify(error="missing or wrong token: the sandbox printed it at start"), 401
        return None

    def error(status: int, message: str, entry: dict, headers: dict | None = None):
        entry["status"] = status
        state.record(entry)
        return jsonify(error=message), status, headers or {}

    @app.post("/v1/order/image")
    def order_image():
        if state.unreachable():  # nothing gets through: not even recorded
            return dropped_response()
        entry: dict = {"time": time.time()}
        fault = state.fault("upload")
        if fault:
            entry["fault"] = {k: v for k, v in asdict(fault).items() if v}
        if fault and fault.delay:
            time.sleep(fault.delay)
        key = request.headers.get("x-api-key", "")
        if not key:
            return error(401, "missing api key", entry)
        entry["key"] = key_fingerprint(key)
        if state.accepted_keys is not None and key not in state.accepted_keys:
            return error(401, "invalid api key", entry)
        image = request.files.get("image")
        if image is None:
            return error(400, "http: no such file", entry)
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as kept:  # for the results
            return order_from(image, kept, entry, fault)

    def order_from(image, kept, entry: dict, fault: Fault | None):
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: image.stream.read(1 << 20), b""):
            digest.update(chunk)
            kept.write(chunk)
            size += len(chunk)
        entry.update(
            filename=image.filename,
            content_type=image.mimetype,
            size=size,
            sha256=digest.hexdigest(),
            service_name=request.form.get("service_name"),
        )
        if not entry["service_name"]:
            return error(400, "service_name is required", entry)
        if entry["service_name"] not in services():
            return error(400, f"invalid service_name: {entry['service_name']}", entry)
        if size > state.max_bytes:
            return error(413, "file too large", entry)
        if fault and fault.drop:
            entry["status"] = "dropped"
            state.record(entry)
            return dropped_response()
        if fault and fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.body is not None:
                entry["status"] = fault.status
                state.record(entry)
                return Response(fault.body, fault.status, headers, content_type="text/html")
            return error(fault.status, f"injected fault {fault.status}", entry, headers)
        entry.update(status=200, order_id=ORDER_PREFIX + uuid.uuid4().hex[:16])
        state.book.add(entry["order_id"], entry["service_name"], kept)
        state.record(entry)
        if state.on_order:
            state.on_order(entry)
        if fault and fault.lost:  # the order is made, but its id never reaches the client
            return dropped_response()
        return jsonify(order_id=entry["order_id"])

    @app.errorhandler(413)
    def too_large(_exc):
        return jsonify(error="file too large"), 413

    @app.get("/_sandbox/received")
    def received():
        with state._lock:
            return jsonify(list(state.received))

    @app.post("/_sandbox/faults")
    def set_faults():
        """{plan for uploads..., "routes": {"submit": {plan}, ...}, "unreachable_for": s}"""
        data = request.get_json(force=True) or {}
        state.faults = FaultPlan.from_dict(data)
        routes = data.get("routes") or {}
        unknown = set(routes) - set(ROUTES)
        if unknown:
            return jsonify(error=f"no route {sorted(unknown)[0]!r} (one of {', '.join(ROUTES)})"), 400
        state.route_faults = {name: FaultPlan.from_dict(plan) for name, plan in routes.items()}
        state.unreachable_for(float(data.get("unreachable_for", 0)))
        return jsonify(
            asdict(state.faults) | {"routes": {k: asdict(v) for k, v in state.route_faults.items()}}
        )

    @app.get("/_sandbox/submits")
    def submits():
        """Accepted submits (charges) and submit requests, per order id."""
        return jsonify(state.book.counts())

    add_order_routes(app, state)
    return app
