"""How a bridge proves it is the one that wrote bridge.json, without a client giving anything
away: the client sends a fresh nonce, the bridge answers HMAC-SHA256(token, nonce and its pid).
Only the process holding the token can answer; the token itself never leaves bridge.json until
the answer checks out. The plugin computes the same in AihdBridge.lua."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

NONCE = re.compile(r"[0-9A-Za-z_-]{16,128}")


def new_nonce() -> str:
    return secrets.token_hex(16)


def proof(token: str, nonce: str, pid: int) -> str:
    message = f"aihd-bridge identity {nonce} {pid}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def proves(answer, token: str, nonce: str) -> int | None:
    """The pid an identity answer proves, or None when it proves nothing."""
    if not isinstance(answer, dict):
        return None
    pid, given = answer.get("pid"), answer.get("proof")
    if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(given, str):
        return None
    return pid if hmac.compare_digest(given.encode(), proof(token, nonce, pid).encode()) else None
