"""The shapes of the sandbox's answers, written once: the live v3 envelope, and the error body
both versions share (never wrapped, as the live API sends it; reference §2.0, §2.13)."""

from __future__ import annotations

from flask import Response, jsonify


def ok(data, status: int = 200, **extra):
    """A v3 success: `{"data": ..., "message": "ok"}`, lists with their `pagination` beside it."""
    return jsonify({"data": data, **extra, "message": "ok"}), status


def error(status: int, message: str, key: str | None = None, headers: dict | None = None):
    """`{"error": ..., "key": "api_error_..."}` (no key where the API sends none)."""
    body = {"error": message} if key is None else {"error": message, "key": f"api_error_{key}"}
    return jsonify(body), status, headers or {}


def not_found():
    """A route this sandbox's API version does not have (how a client tells v1 from v3)."""
    return error(404, "not found")


def tool_not_found() -> Response:
    """What the live API answers for an unknown or retired tool: a raw 500, not JSON."""
    return Response("tool repository: tool not found", 500, content_type="text/plain")


RATE_LIMITED = "rate-limit exceeded, 10 generates per 10 minutes only"  # verbatim, §1.5
