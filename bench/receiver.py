"""A minimal HTTP sink standing in for the API in benchmarks: reads and discards each body,
optionally waits (latency), answers an order id. Far faster than the uploads it measures.

    python -m bench.receiver [--latency SECONDS]   (prints its port, then serves)
"""

from __future__ import annotations

import argparse
import itertools
import socketserver
import sys
import time

CHUNK = 1 << 20


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    latency = 0.0
    counter = itertools.count(1)


class Handler(socketserver.StreamRequestHandler):
    rbufsize = CHUNK

    def handle(self) -> None:
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        if not self.rfile.readline(65537):
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
        body = b'{"order_id": "bench-%d"}' % next(self.server.counter)
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.wfile.flush()
        return headers.get("connection", "").lower() != "close"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = Sink(("127.0.0.1", 0), Handler)
    server.latency = args.latency
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
