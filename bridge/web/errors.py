"""The one shape of every refusal the bridge's web side sends: `{"error": "<one line>"}`."""

from __future__ import annotations

from flask import jsonify


def error_response(status: int, message: str):
    return jsonify(error=message), status
