"""The one shape of every refusal the bridge's web side sends: `{"error": "<one line>"}`."""

from __future__ import annotations

from flask import Response, jsonify


def error_response(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status
