"""Which API version a key speaks: asked once (`GET /v3/project?page=1&limit=1`, as the vendor's
own MCP server checks a key) and remembered per key and API address in the data dir, so that a
bridge started while the network is away still knows."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from .client import ApiClient, RemoteError

log = logging.getLogger(__name__)
VERSIONS = ("v3", "v1")
MEMORY_FILE = "api-version.json"
PROBE_TIMEOUT = 15.0


def detect(client: ApiClient) -> str:
    """2xx: v3; 404: v1 (no such route); 401/403: the key is refused (RemoteError); anything
    else cannot tell (RemoteError, worth asking again later)."""
    try:
        client.call("GET", "/v3/project", params={"page": 1, "limit": 1}, timeout=PROBE_TIMEOUT)
    except RemoteError as exc:
        if exc.status == 404:
            log.info("the API at %s speaks v1 (no /v3 routes)", client.base_url)
            return "v1"
        if exc.status in (401, 403) or exc.status is None or exc.retryable:
            raise
        raise RemoteError(
            status=exc.status,
            message=f"asking which API version the key speaks: {exc}",
            retryable=True,
            key=exc.key,
        ) from None
    log.info("the API at %s speaks v3", client.base_url)
    return "v3"


def _slot(client: ApiClient) -> str:
    # A hash, not the key: the file must not hold it.
    return hashlib.sha256(f"{client.base_url}\n{client.api_key}".encode()).hexdigest()[:24]


class VersionMemory:
    """The version each key was found to speak, in `api-version.json` (0600)."""

    def __init__(self, home: Path):
        self.path = home / MEMORY_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def recall(self, client: ApiClient) -> str | None:
        with self._lock:
            found = self._read().get(_slot(client))
        return found if found in VERSIONS else None

    def remember(self, client: ApiClient, version: str) -> None:
        with self._lock:
            data = self._read() | {_slot(client): version}
            tmp = self.path.with_name(f".{MEMORY_FILE}.{os.getpid()}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh)
                os.replace(tmp, self.path)
            except OSError as exc:  # asked again at the next start: no harm
                log.warning("could not remember the API version in %s (%s)", self.path, exc.strerror)
