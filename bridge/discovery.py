"""Finding and talking to a running bridge through `bridge.json` in the data dir."""

from __future__ import annotations

import json
from pathlib import Path

from .keystore import write_private

INFO_FILE = "bridge.json"


def info_path(home: Path) -> Path:
    return home / INFO_FILE


def write_info(home: Path, info: dict) -> Path:
    """Write bridge.json atomically with mode 0600: it holds the local token."""
    return write_private(info_path(home), json.dumps(info))


def read_info(home: Path) -> dict | None:
    try:
        info = json.loads(info_path(home).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and {"url", "token"} <= info.keys() else None


def remove_info(home: Path, pid: int) -> None:
    """Remove bridge.json if it is still ours (a newer bridge may have replaced it)."""
    info = read_info(home)
    if info and info.get("pid") == pid:
        info_path(home).unlink(missing_ok=True)


class LocalBridge:
    """A client of a running bridge's local API."""

    def __init__(self, info: dict, timeout: float = 10):
        import requests  # here, not at the top: `serve` must not pay for it at start-up

        self.info, self.url, self.timeout = info, info["url"].rstrip("/"), timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {info['token']}"
        self._session.trust_env = False  # loopback only: never through a proxy

    def get(self, path: str, **params) -> dict:
        resp = self._session.get(self.url + path, params=params, timeout=self.timeout)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, payload: dict | None = None) -> dict:
        resp = self._session.post(self.url + path, json=payload or {}, timeout=self.timeout)
        if resp.status_code >= 400:
            raise BridgeError(resp.json().get("error", resp.text) if _is_json(resp) else resp.text)
        return resp.json()


class BridgeError(Exception):
    pass


def _is_json(resp) -> bool:
    return resp.headers.get("Content-Type", "").startswith("application/json")


def running_bridge(home: Path, timeout: float = 2) -> LocalBridge | None:
    """The bridge serving this data dir, if one answers its health check."""
    info = read_info(home)
    if info is None:
        return None
    import requests

    bridge = LocalBridge(info, timeout=timeout)
    try:
        bridge.get("/v1/health")
    except (requests.RequestException, ValueError):
        return None
    return bridge
