"""A TCP proxy on 127.0.0.1 that cuts a share of connections part-way through the request
body: the fault no HTTP server can inject from inside (waitress reads bodies whole)."""

from __future__ import annotations

import random
import socket
import threading


class CuttingProxy:
    def __init__(self, upstream_port: int, rate: float, seed: int = 0):
        self.upstream_port, self.rate = upstream_port, rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                cut_after = self._random.randint(200, 20_000) if self._random.random() < self.rate else None
            threading.Thread(target=self._serve, args=(client, cut_after), daemon=True).start()

    def _serve(self, client: socket.socket, cut_after: int | None) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()
        self._pipe(client, upstream, cut_after)

    def _pipe(self, source: socket.socket, sink: socket.socket, cut_after: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if cut_after is not None and sent + len(data) > cut_after:
                    sink.sendall(data[: cut_after - sent])
                    with self._lock:
                        self.cuts += 1
                    source.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    break  # mid-body: both sides see the connection reset
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self._server.close()
