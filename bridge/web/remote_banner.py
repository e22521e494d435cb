"""The status page's banner: is the API unreachable or rate limiting us, and until when.

It reads `/v1/health`'s `remote` object where the bridge reports one
(`{"state": "ok" | "unreachable" | "rate_limited", "since", "next_try", "last_error"}`, times
as epoch seconds or ISO 8601). Without it, the waiting items tell the same story: a photo
put back in the queue by a 429 or a network error carries `waiting_until` and the error.
"""

from __future__ import annotations

import time
from datetime import datetime

TITLES = {
    "rate_limited": "The AI HomeDesign API asked the bridge to slow down",
    "unreachable": "The AI HomeDesign API cannot be reached",
}


def banner(remote: dict | None, items: list[dict]) -> dict | None:
    """{"state", "title", "until", "since", "detail"} to show, or None when all is well."""
    if isinstance(remote, dict) and "state" in remote:
        state = remote.get("state")
        if state not in TITLES:
            return None
        return _notice(
            state, _epoch(remote.get("next_try")), _epoch(remote.get("since")), remote.get("last_error")
        )
    waiting = [i for i in items if i.get("waiting_until") and i.get("error")]
    if not waiting:
        return None
    latest = max(waiting, key=lambda i: i["waiting_until"])
    error = latest["error"]
    if "(HTTP 429)" in error:
        state = "rate_limited"
    elif "network error" in error:
        state = "unreachable"
    else:
        return None  # a 5xx for one photo is that photo's retry, shown on its row
    return _notice(state, latest["waiting_until"], None, error)


def _notice(state: str, until: float | None, since: float | None, error: object) -> dict:
    return {
        "state": state,
        "title": TITLES[state],
        "until": clock(until) if until and until > time.time() else None,
        "since": clock(since) if since else None,
        "detail": error if isinstance(error, str) else None,
    }


def _epoch(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def clock(epoch: float) -> str:
    """Local time of day; with the date when it is not today."""
    moment = time.localtime(epoch)
    if time.strftime("%Y-%m-%d", moment) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)
