"""Run a WSGI app with waitress on 127.0.0.1 in a background thread (tests, in-process sandbox)."""

from __future__ import annotations

import threading
from wsgiref.types import WSGIApplication

from waitress.server import create_server


class BackgroundServer:
    def __init__(self, app: WSGIApplication, port: int = 0, threads: int = 8) -> None:
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
        # waitress has no public stop for a server run in a thread. First the worker threads
        # finish what they serve (each wakes the loop through the trigger when done, so the
        # trigger must still be open). Then the channels are closed by the thread that polls
        # them (closing them from here races its select), through that trigger; with its map
        # empty the loop ends.
        server = self._server
        server.task_dispatcher.shutdown(timeout=5)

        closed: list[bool] = []

        def close_all() -> None:
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.handle_close()
            server.close()  # the listening socket and the trigger last
            closed.append(True)

        try:
            server.trigger.pull_trigger(close_all)
        except OSError:  # the loop closed its trigger itself: it is ending already
            pass
        self._thread.join(timeout=5)
        if not closed:  # the loop had ended without running it
            server.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
