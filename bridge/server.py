"""The Flask app factory and the guards every request passes: Host, Origin, bearer token."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .config import Settings
from .localguard import bearer_ok, refusal
from .runtime import Runtime

log = logging.getLogger(__name__)
OPEN_PATHS = {"/v1/health", "/v1/identity"}
BODY_TYPES = ("application/json", "multipart/form-data")


def create_app(settings: Settings, *, runtime: Runtime | None = None,
               token: str | None = None, port: int | None = None) -> Flask:
    """Build the bridge's app. `port` is the one the server listens on (the Host check needs
    it); set `app.config["BRIDGE_PORT"]` later when the server picks a free port itself."""
    from .http_api import v1

    app = Flask("bridge")
    app.config.update(BRIDGE_PORT=port if port is not None else settings.port,
                      BRIDGE_TOKEN=token or secrets.token_urlsafe(32),
                      JSON_SORT_KEYS=False)
    app.extensions["runtime"] = runtime or Runtime(settings)
    app.register_blueprint(v1)

    @app.before_request
    def guard():
        refused = refusal(request.host, request.headers.get("Origin"), request.method,
                          app.config["BRIDGE_PORT"])
        if refused:
            return _error(403, refused)
        if request.path in OPEN_PATHS:
            return None
        if not bearer_ok(request.headers.get("Authorization", ""), app.config["BRIDGE_TOKEN"]):
            return _error(401, "missing or wrong token: read it from bridge.json in the "
                               "bridge's data dir")
        if request.method == "POST" and request.content_length and \
                request.mimetype not in BODY_TYPES:
            return _error(415, "send application/json or multipart/form-data")
        return None

    @app.after_request
    def headers(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        for name in [h for h in response.headers.keys() if h.lower().startswith("access-control-")]:
            del response.headers[name]  # never any CORS: browsers must not read our answers
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the bridge's log")

    return app


def _error(status: int, message: str):
    return jsonify(error=message), status
