"""A minimal HTTP sink standing in for the API in benchmarks: reads and discards each body,
optionally waits (latency), answers an order id. Far faster than the uploads it measures.
With --serve FOLDER, a GET of /<name> answers that file of the folder (a result download).

    python -m bench.receiver [--latency SECONDS] [--serve FOLDER]   (prints its port, then serves)
"""

from __future__ import annotations

import argparse
import itertools
import socketserver
import sys
import time
from pathlib import Path

CHUNK = 1 << 20


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    latency = 0.0
    counter = itertools.count(1)
    folder: Path | None = None


class Handler(socketserver.StreamRequestHandler):
    rbufsize = CHUNK

    def handle(self) -> None:
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        request_line = self.rfile.readline(65537)
        if not request_line:
            return False
        headers = {}
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        left = int(headers.get("content-length", "0"))
        while left > 0:
            chunk = self.rfile.read(min(left, CHUNK))
            if not chunk:
                return False
            left -= len(chunk)
        if self.server.latency:
            time.sleep(self.server.latency)
        if request_line.startswith(b"GET ") and self.server.folder is not None:
            return self._send_file(request_line.split()[1].decode().lstrip("/"))
        body = b'{"order_id": "bench-%d"}' % next(self.server.counter)
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.wfile.flush()
        return headers.get("connection", "").lower() != "close"

    def _send_file(self, name: str) -> bool:
        path = self.server.folder / Path(name).name
        size = path.stat().st_size
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % size)
        self.wfile.flush()
        with path.open("rb") as fh:
            self.connection.sendfile(fh)
        return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--serve", type=Path, help="a folder whose files GET /<name> answers")
    args = parser.parse_args()
    server = Sink(("127.0.0.1", 0), Handler)
    server.latency = args.latency
    server.folder = args.serve
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
