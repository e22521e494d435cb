"""The client to talk to: the real API with a key, the embedded sandbox without one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .config import Settings
from .remote.client import ApiClient
from .sandbox import SandboxState, create_sandbox_app
from .web.background import BackgroundServer

SANDBOX_KEY = "sandbox-key"
SANDBOX_NOTICE = (
    "sandbox mode: no API key is set, so photos go to the embedded sandbox and "
    "the order ids are not real (set AIHD_API_KEY to upload for real)"
)


@contextlib.contextmanager
def remote_client(settings: Settings) -> Iterator[ApiClient]:
    timeouts = dict(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout)
    if not settings.sandbox:
        client = ApiClient(settings.upload_url, settings.api_key or "", **timeouts)
        try:
            yield client
        finally:
            client.close()
        return
    state = SandboxState(max_bytes=settings.max_upload_bytes, api="v1")  # the v1 client (issue 21: auto)
    with BackgroundServer(create_sandbox_app(state), threads=4) as server:
        client = ApiClient(server.url + "/v1/order/image", SANDBOX_KEY, **timeouts)
        try:
            yield client
        finally:
            client.close()
