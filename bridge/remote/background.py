"""Run a WSGI app with waitress on 127.0.0.1 in a background thread (tests, in-process sandbox)."""

from __future__ import annotations

import logging
import threading

from waitress.server import create_server


class BackgroundServer:
    def __init__(self, app, port: int = 0, threads: int = 8):
        # Loopback only: nothing here is ever meant to be reached from another machine.
        self._server = create_server(
            app, host="127.0.0.1", port=port, threads=threads, clear_untrusted_proxy_headers=True
        )
        self.port = int(self._server.effective_port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.run, name=f"waitress:{self.port}", daemon=True)

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        # waitress has no public stop for a server run in a thread: close every channel
        # in its socket map, which ends the loop, then the worker threads.
        logging.getLogger("waitress").setLevel(logging.CRITICAL)
        server = self._server
        while server._map:
            for channel in list(server._map.values()):
                channel.handle_close()
        server.task_dispatcher.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
