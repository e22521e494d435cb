"""The Flask app factory and the guards every request passes: Host, Origin, bearer token."""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from ..config import Settings
from ..runtime import Runtime

log = logging.getLogger(__name__)
OPEN_PATHS = {"/v1/health"}
BODY_TYPES = ("application/json", "multipart/form-data")


def create_app(settings: Settings, *, runtime: Runtime | None = None,
               token: str | None = None, port: int | None = None) -> Flask:
    """Build the bridge's app. `port` is the one the server listens on (the Host check needs
    it); set `app.config["BRIDGE_PORT"]` later when the server picks a free port itself."""
    from .pages import pages
    from .routes import v1

    app = Flask("bridge")
    app.config.update(BRIDGE_PORT=port if port is not None else settings.port,
                      BRIDGE_TOKEN=token or secrets.token_urlsafe(32))
    app.json.sort_keys = False  # answers keep the order they were built in: easier to read
    app.extensions["runtime"] = runtime or Runtime(settings)
    app.register_blueprint(v1)
    app.register_blueprint(pages)

    @app.before_request
    def guard():
        port = app.config["BRIDGE_PORT"]
        own = {f"127.0.0.1:{port}", f"localhost:{port}"}
        # DNS rebinding: a web page's hostname that resolves to 127.0.0.1 still shows here.
        if request.host not in own:
            return _error(403, "refused: requests must be addressed to 127.0.0.1 or localhost")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in {f"http://{h}" for h in own}:
            return _error(403, "refused: cross-site requests are not allowed")
        if request.method == "OPTIONS":
            return _error(403, "refused: cross-site requests are not allowed")
        if request.path in OPEN_PATHS:
            return None
        if request.blueprint == "pages":
            return None  # the status page: a session cookie and CSRF token, checked in pages.py
        supplied = request.headers.get("Authorization", "")
        expected = "Bearer " + app.config["BRIDGE_TOKEN"]
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return _error(401, "missing or wrong token: read it from bridge.json in the "
                               "bridge's data dir")
        if request.method == "POST" and request.content_length and \
                request.mimetype not in BODY_TYPES:
            return _error(415, "send application/json or multipart/form-data")
        return None

    @app.after_request
    def headers(response):
        response.headers.setdefault("Cache-Control", "no-store")  # thumbnails say otherwise
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
