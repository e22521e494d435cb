"""Ids and times as the API writes them: ids of 24 lowercase hex characters, like MongoDB
ObjectIds (reference §1.7), times in ISO 8601 with milliseconds and a Z (§4.7)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id() -> str:
    return secrets.token_hex(12)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
