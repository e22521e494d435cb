"""A tiny HTTP server on a free 127.0.0.1 port that answers as it is told and records every
request it got (method, path, headers, body): a stranger on a port, or a redirecting API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (method, path) -> (status, headers, body)
Answer = Callable[[str, str], tuple[int, dict, bytes]]


class RecordingServer:
    def __init__(self, answer: Answer):
        self.requests: list[dict] = []
        recorded, lock = self.requests, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    recorded.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                        }
                    )
                status, headers, payload = answer(self.command, self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _any

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def seen(self, text: str) -> bool:
        """Whether `text` was in any request's path, headers or body."""
        blob = " ".join(f"{r['path']} {r['headers']} {r['body'].decode('latin-1')}" for r in self.requests)
        return text in blob

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
