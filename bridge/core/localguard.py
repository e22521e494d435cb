"""The checks every local HTTP server of ours makes first: addressed to 127.0.0.1 or localhost on
its own port (a web page's hostname rebound to 127.0.0.1 still shows in Host), not sent by a web
page of another origin, and carrying the token where one is needed."""

from __future__ import annotations

import hmac

CROSS_SITE = "refused: cross-site requests are not allowed"


def refusal(host: str, origin: str | None, method: str, port: int | None) -> str | None:
    """Why a request is refused before anything else, or None. With `port` None (the sandbox:
    a test proxy may stand in front of it) any port will do, and so will no Origin at all."""
    name, _, given = host.rpartition(":")
    if (
        name not in ("127.0.0.1", "localhost")
        or not given.isdigit()
        or (port is not None and given != str(port))
    ):
        return "refused: requests must be addressed to 127.0.0.1 or localhost"
    own = set() if port is None else {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    if origin is not None and origin not in own:
        return CROSS_SITE
    if method == "OPTIONS":  # a CORS preflight: only browsers send them
        return CROSS_SITE
    return None


def bearer_ok(authorization: str, token: str) -> bool:
    return hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())
