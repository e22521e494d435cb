"""Ids and times as the API writes them: ids of 24 lowercase hex characters, like MongoDB
ObjectIds (reference §1.7), times in ISO 8601 with milliseconds and a Z (§4.7). Order ids
alone carry a `sandbox-` prefix: they are what gets written on people's photos, and a tag
that says it came from the sandbox is never taken for a real order (ids are opaque to clients)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

ORDER_PREFIX = "sandbox-"


def new_id() -> str:
    return secrets.token_hex(12)


def new_order_id() -> str:
    return ORDER_PREFIX + new_id()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
