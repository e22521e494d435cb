"""The bridge's waitress server, set so that no local process can freeze it or fill the disk.

waitress holds a request until its body is complete, writing bodies over 512 KB to a
temporary file, and only then hands it to the app. So the limits live here: a body cap from
the headers, the header guard (Host, Origin, token) before any body is read, idle half-sent
connections dropped within seconds, and room for many more connections than its default 100.
Incomplete requests never hold a worker thread, so a few threads serve everyone else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from wsgiref.types import WSGIApplication

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.utilities import Error

THREADS = 8
# Each connection is a file descriptor; 500 is five times waitress's default and stays under
# select()'s 512 on Windows (elsewhere poll() has no such ceiling).
CONNECTION_LIMIT = 500
CHANNEL_TIMEOUT = 10  # seconds a connection may sit idle, mid-request or between requests
CLEANUP_INTERVAL = 2  # seconds between checks for such connections
SPARE_FDS = 64  # database, logs, spool files and the upload clients' own sockets

HeaderGuard = Callable[[str, "str | None", str, str, str], "tuple[int, str] | None"]


def create_listener(app: WSGIApplication, port: int, max_body: int, guard: HeaderGuard) -> BaseWSGIServer:
    """A waitress server on 127.0.0.1:`port` for `app`; `guard(host, origin, authorization,
    method, path)` returns (status, message) for a request to refuse from its headers."""
    _allow_descriptors(CONNECTION_LIMIT + SPARE_FDS)
    server = create_server(
        app,
        host="127.0.0.1",
        port=port,
        threads=THREADS,
        max_request_body_size=max_body,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT,
        cleanup_interval=CLEANUP_INTERVAL,
        asyncore_use_poll=True,
        clear_untrusted_proxy_headers=True,
        ident="aihd-bridge",
    )
    server.channel_class = _guarded_channel(guard)
    return server


def _guarded_channel(guard: HeaderGuard) -> type[HTTPChannel]:
    class GuardedParser(HTTPRequestParser):
        checked = False

        def received(self, data: bytes) -> int:
            consumed = super().received(data)
            if self.headers_finished and not self.checked:
                self.checked = True
                if self.error is None and not self.empty:
                    self._guard()
            return consumed

        def _guard(self) -> None:
            headers = self.headers
            refused = guard(
                headers.get("HOST", ""),
                headers.get("ORIGIN"),
                headers.get("AUTHORIZATION", ""),
                self.command,
                self.path,
            )
            if refused:
                # Answered now and the connection closed: the body is never read.
                self.error = _Refusal(*refused)
                self.completed = True
                self.expect_continue = False

    class GuardedChannel(HTTPChannel):
        parser_class = GuardedParser

    return GuardedChannel


class _Refusal(Error):
    """The app's own JSON error, sent by the server before the request reaches the app."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.reason = code, HTTPStatus(code).phrase

    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        return (
            f"{self.code} {self.reason}",
            [
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
            ],
            json.dumps({"error": self.body}).encode(),
        )


def _allow_descriptors(needed: int) -> None:
    """Raise this process's open-file limit to `needed` where the hard limit allows (macOS
    starts services with 256)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit on sockets
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # keep the lower limit: waitress logs and drops connections past it
