"""An embedded stand-in for the AI HomeDesign API, for trying things without a key and for tests.

It speaks one version, v3 (default) or v1 (`SandboxState.api`), as documented, following the
live API where the two differ (reference §2.13); the other version's routes answer 404, which
is how a client tells them apart. It can inject faults (statuses with Retry-After, delays,
dropped connections, answers lost after the work was done, downloads cut half-way, a spell of
being out of reach) on request, on every route. Routes: `v3_routes.py`, `v1_routes.py`,
`results_routes.py`. Control endpoints live under /_sandbox/ and exist only here. Like the
bridge, it answers only requests addressed to 127.0.0.1 or localhost and none from a web page;
the control endpoints also need its `control_token` (the bridge's embedded sandbox never tells
it anyone).
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from flask import Flask, jsonify, request

from ..core.localguard import bearer_ok, refusal
from .envelope import error, not_found
from .faults import ROUTES, FaultPlan, QuietDrops
from .results_routes import add_result_routes
from .state import SandboxState
from .v1_routes import add_v1_routes
from .v3_routes import add_v3_routes

VERSIONED = ("/v1/", "/v3/")


def create_sandbox_app(state: SandboxState | None = None) -> Flask:
    state = state or SandboxState()
    app = Flask("aihd-sandbox")
    # Bound what is read at all; the exact API limit is checked on each file.
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
        if request.path.startswith(VERSIONED) and not request.path.startswith(f"/{state.api}/"):
            return not_found()  # the other version's API
        return None

    @app.errorhandler(404)
    def no_route(_exc):
        return not_found()

    @app.errorhandler(413)
    def too_large(_exc):
        return error(413, "file too large", "file_too_large")

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

    add_v3_routes(app, state)
    add_v1_routes(app, state)
    add_result_routes(app, state)
    return app
