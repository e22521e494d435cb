"""The client to talk to: the real API with a key, the embedded sandbox without one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .core.config import Settings
from .remote.api import RemoteApi
from .remote.client import ApiClient
from .remote.version import VersionMemory
from .sandbox import SandboxState, create_sandbox_app
from .web.background import BackgroundServer

SANDBOX_KEY = "sandbox-key"
SANDBOX_NOTICE = (
    "sandbox mode: no API key is set, so photos go to the embedded sandbox and "
    "the order ids are not real (set AIHD_API_KEY to upload for real)"
)


@contextlib.contextmanager
def remote_client(settings: Settings) -> Iterator[RemoteApi]:
    """The API for these settings: the real one with a key (its version as set, or asked of it
    once and remembered), else a sandbox in this process that speaks the version set (v3 unless
    `api_version = "v1"`)."""
    timeouts = dict(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout)
    if not settings.sandbox:
        api = RemoteApi(
            ApiClient(settings.api_url, settings.api_key or "", **timeouts),
            settings.api_version,
            VersionMemory(settings.home),
        )
        try:
            yield api
        finally:
            api.close()
        return
    version = "v1" if settings.api_version == "v1" else "v3"
    state = SandboxState(max_bytes=settings.max_upload_bytes, api=version)
    with BackgroundServer(create_sandbox_app(state), threads=4) as server:
        api = RemoteApi(ApiClient(server.url, SANDBOX_KEY, **timeouts), version)
        try:
            yield api
        finally:
            api.close()
