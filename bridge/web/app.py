"""The Flask app factory and the guards every request passes: Host, Origin, bearer token."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ..core.config import Settings
from ..core.localguard import bearer_ok, refusal
from ..runtime import Runtime
from .errors import error_response

log = logging.getLogger(__name__)
OPEN_PATHS = {"/v1/health", "/v1/identity"}
BODY_TYPES = ("application/json", "multipart/form-data")
REQUEST_OVERHEAD = 10_000_000  # bytes around the photo in a request: see max_request_bytes


def create_app(
    settings: Settings, *, runtime: Runtime, token: str | None = None, port: int | None = None
) -> Flask:
    """Build the bridge's app. `port` is the one the server listens on (the Host check needs
    it); set `app.config["BRIDGE_PORT"]` later when the server picks a free port itself."""
    from .pages import pages
    from .routes import v1

    app = Flask("bridge")
    app.config.update(
        BRIDGE_PORT=port if port is not None else settings.port,
        BRIDGE_TOKEN=token or secrets.token_urlsafe(32),
        MAX_CONTENT_LENGTH=max_request_bytes(settings),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's  # answers keep the order they were built in: easier to read
    app.extensions["runtime"] = runtime
    app.register_blueprint(v1)
    app.register_blueprint(pages)
    refused_by_headers = header_guard(app)

    @app.before_request
    def guard() -> ResponseReturnValue | None:
        refused = refused_by_headers(
            request.host,
            request.headers.get("Origin"),
            request.headers.get("Authorization", ""),
            request.method,
            request.path,
        )
        if refused:
            return error_response(*refused)
        if (
            request.blueprint == "v1"
            and request.path not in OPEN_PATHS
            and request.method == "POST"
            and request.content_length
            and request.mimetype not in BODY_TYPES
        ):  # the status page posts its forms
            return error_response(415, "send application/json or multipart/form-data")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")  # thumbnails say otherwise
        response.headers["X-Content-Type-Options"] = "nosniff"
        for name in [h for h in response.headers.keys() if h.lower().startswith("access-control-")]:  # noqa: SIM118 (Headers iterate as pairs)
            del response.headers[name]  # never any CORS: browsers must not read our answers
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the bridge's log")

    return app


def max_request_bytes(settings: Settings) -> int:
    """The largest request body taken: one photo at the API's limit plus the multipart
    headers and form fields around it (a JSON batch of 10,000 paths fits as well). Anything
    larger is refused from its headers, before a byte of it is buffered."""
    return settings.max_upload_bytes + REQUEST_OVERHEAD


def header_guard(app: Flask) -> Callable[[str, str | None, str, str, str], tuple[int, str] | None]:
    """The guard on what headers alone tell: Host (DNS rebinding), Origin (cross-site), the
    token. Flask applies it to every request; the server applies it as soon as the headers
    are in, so a stranger's body is never buffered. Returns (status, message) to refuse."""

    def refused(
        host: str, origin: str | None, authorization: str, method: str, path: str
    ) -> tuple[int, str] | None:
        why = refusal(host, origin, method, app.config["BRIDGE_PORT"])
        if why:
            return 403, why
        if path in OPEN_PATHS or not path.startswith("/v1/"):
            return None  # the status page checks its own session cookie and CSRF (pages.py)
        if not bearer_ok(authorization, app.config["BRIDGE_TOKEN"]):
            return 401, "missing or wrong token: read it from bridge.json in the bridge's data dir"
        return None

    return refused
