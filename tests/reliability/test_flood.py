"""Floods from any local process, with no token: slow half-sent requests must not freeze the
bridge, and no body is buffered unless it is small enough and its sender passed the guards."""

import os
import select
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

SLOW_CLIENTS = 150


def _connect(port: int, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(head)
    return sock


def _status(sock: socket.socket, timeout: float) -> int | None:
    """The status code of the answer, if one comes within `timeout` seconds."""
    if not select.select([sock], [], [], timeout)[0]:
        return None
    try:
        line = sock.recv(64)
    except ConnectionError:
        return None
    return int(line.split()[1]) if line.startswith(b"HTTP/") else None


def _closed(sock: socket.socket) -> bool:
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionError:
        return True


class Buffered:
    """The bytes a process holds in temporary files under `folder` (waitress and werkzeug
    spill request bodies there, unlinked, so only /proc sees them), sampled every 10 ms."""

    def __init__(self, pid: int, folder: Path):
        self.fds, self.folder, self.peak = Path(f"/proc/{pid}/fd"), str(folder), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> int:
        total = 0
        for fd in self.fds.iterdir():
            try:
                if os.readlink(fd).startswith(self.folder):
                    total += fd.stat().st_size
            except OSError:
                pass  # closed meanwhile
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.01)  # the sampling period

    def __enter__(self) -> "Buffered":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _peak_memory(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def flooded_bridge(sandbox, start_bridge, tmp_path):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to see what the bridge buffers")
    spill = tmp_path / "bridge-tmp"
    spill.mkdir()
    bridge = start_bridge(sandbox.url, config="max_upload_bytes = 5000000\n", TMPDIR=str(spill))
    bridge.buffered = lambda: Buffered(bridge.info["pid"], spill)
    return bridge


@pytest.mark.long(14)
def test_health_answers_while_slow_clients_hold_connections(sandbox, start_bridge, report):
    bridge = start_bridge(sandbox.url)
    port = bridge.info["port"]
    head = f"GET /v1/history HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
    slow = [_connect(port, head) for _ in range(SLOW_CLIENTS)]
    bare = requests.Session()
    bare.trust_env = False
    try:
        slowest = 0.0
        for _ in range(6):  # three seconds, the slow clients sending a byte now and then
            for sock in slow:
                sock.sendall(b"a")
            started = time.monotonic()
            resp = bare.get(bridge.url + "/v1/health", timeout=1)
            slowest = max(slowest, time.monotonic() - started)
            assert resp.status_code == 200
            time.sleep(0.5)  # the behaviour: a slow client's pace
        assert not [s for s in slow if _closed(s)]  # they were all still connected
        # Once they stop sending, the bridge drops them: idle connections do not pile up.
        started = time.monotonic()
        while not all(_closed(s) for s in slow):
            assert time.monotonic() - started < 30, "idle half-sent connections still open"
            time.sleep(0.2)  # what the bridge would still buffer, it buffers now: the sampler looks on
        dropped_after = time.monotonic() - started
    finally:
        for sock in slow:
            sock.close()
    report(
        "slow clients",
        half_sent_connections=SLOW_CLIENTS,
        slowest_health_ms=round(slowest * 1000),
        idle_ones_dropped_after_s=round(dropped_after),
    )


def test_a_body_over_the_limit_is_refused_before_it_is_buffered(flooded_bridge, report):
    bridge = flooded_bridge
    port, pid = bridge.info["port"], bridge.info["pid"]
    token = bridge.http.headers["Authorization"]
    # The limit follows max_upload_bytes (5 MB here): a photo at the limit still goes.
    photo = b"\xff\xd8\xff\xda\x00\x0c" + bytes(10) + os.urandom(4_999_000) + b"\xff\xd9"
    resp = bridge.post(
        "/v1/uploads", files={"image": ("big.jpg", photo)}, data={"service_name": "service-day-to-dusk"}
    )
    assert resp.status_code == 202 and resp.json()["items"][0]["state"] == "queued", resp.text
    assert bridge.wait(resp.json()["batch_id"])["counts"]["done"] == 1
    bridge.spool_files()  # hashed and gone: nothing else runs while memory is watched
    memory_before = _peak_memory(pid)
    declared = 100_000_000
    sock = _connect(
        port,
        (
            f"POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: {token}\r\nContent-Type: multipart/form-data; "
            f"boundary=x\r\nContent-Length: {declared}\r\n\r\n"
        ).encode(),
    )
    sent = 0
    with bridge.buffered() as buffered:
        status = _status(sock, 2)  # the answer comes from the headers alone
        block = bytes(1 << 20)
        try:
            while sent < declared:  # a client that sends its body anyway
                sock.sendall(block)
                sent += len(block)
        except OSError:
            pass  # the bridge closed the connection
        time.sleep(0.2)  # what the bridge would still buffer, it buffers now: the sampler looks on
    sock.close()
    assert status == 413
    assert buffered.peak < 1_000_000, f"{buffered.peak:,} bytes buffered"
    growth = _peak_memory(pid) - memory_before
    assert growth < 20_000_000, f"peak memory grew by {growth:,} bytes"
    assert bridge.get("/v1/health").status_code == 200
    report(
        "oversized body",
        declared_mb=declared // 1_000_000,
        limit_mb="max_upload_bytes + 10",
        refused="413 from its headers",
        disk_buffered_kb=buffered.peak // 1000,
        peak_memory_growth_mb=round(growth / 1e6, 1),
    )


def test_foreign_origin_bodies_do_not_fill_the_disk(flooded_bridge, report):
    bridge = flooded_bridge
    port = bridge.info["port"]
    size = 14_000_000  # under the 15 MB limit: only the guard keeps it out
    statuses = []

    def send() -> None:
        sock = _connect(
            port,
            (
                f"POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: https://evil.example\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {size}\r\n\r\n"
            ).encode(),
        )
        try:
            statuses.append(_status(sock, 2))
            sock.sendall(os.urandom(size))
        except OSError:
            pass  # refused and closed: the rest of the body has nowhere to go
        finally:
            sock.close()

    with bridge.buffered() as buffered:
        clients = [threading.Thread(target=send) for _ in range(5)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        time.sleep(0.2)  # what the bridge would still buffer, it buffers now: the sampler looks on
    assert statuses == [403] * 5, statuses
    assert buffered.peak < 1_000_000, f"{buffered.peak:,} bytes buffered"
    assert bridge.get("/v1/health").status_code == 200
    report(
        "foreign-Origin bodies",
        parallel=5,
        each_mb=size // 1_000_000,
        refused=403,
        disk_buffered_kb=buffered.peak // 1000,
    )
