"""What a result's address or body can do to the bridge (issue 23): bodies without end or that
unpack to hundreds of MB, addresses into this machine or the local network (SSRF), redirects
there, and a result host's 401 taken for the API's."""

from __future__ import annotations

import zlib

import pytest
from flask import Flask, Response, redirect, request

from bridge.remote import download
from bridge.remote.background import BackgroundServer
from bridge.remote.download import BadResult, fetch
from bridge.remote.result_address import RefusedAddress, guarded_session
from support import jpeg_bytes

CAP = 20_000_000  # the test's cap; the bridge's is MAX_RESULT_BYTES (200 MB), the same code
BOMB_INFLATED = 300_000_000
TIMEOUT = (5.0, 10.0)


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    zeros = b"\0" * 1_000_000
    return b"".join(packer.compress(zeros) for _ in range(BOMB_INFLATED // len(zeros))) + packer.flush()


def _result_host(seen: list[dict], bomb: bytes) -> Flask:
    app = Flask("results")
    photo = jpeg_bytes()

    @app.before_request
    def record():
        seen.append({"path": request.path, "headers": dict(request.headers)})

    @app.get("/photo.jpg")
    def photo_route():
        return Response(photo, mimetype="image/jpeg")

    @app.get("/endless.jpg")
    def endless():
        def body():  # three times the cap (bounded, so that a bridge without one ends too)
            yield photo[:-2]
            for _ in range(3 * CAP // 1_000_000):
                yield b"\0" * 1_000_000

        return Response(body(), mimetype="image/jpeg")  # no Content-Length: chunked

    @app.get("/bomb.jpg")
    def bomb_route():
        return Response(bomb, mimetype="image/jpeg", headers={"Content-Encoding": "gzip"})

    @app.get("/locked.jpg")
    def locked():
        return Response("sign in first", 401)

    @app.get("/hop")
    def hop():
        return redirect(request.args["to"], 302)

    return app


@pytest.fixture
def hosts():
    """The result host (standing for the API's own address) and a bystander: another local
    service on another port of 127.0.0.1, which must never be reached."""
    seen: list[dict] = []
    bystander: list[dict] = []
    bomb = _gzip_bomb()
    with (
        BackgroundServer(_result_host(seen, bomb)) as api,
        BackgroundServer(_result_host(bystander, bomb)) as other,
    ):
        api.seen, other.seen, api.bomb_size = seen, bystander, len(bomb)
        yield api, other


def test_a_runaway_result_stops_at_the_cap(hosts, tmp_path, monkeypatch, report):
    api, _ = hosts
    in_use = download.MAX_RESULT_BYTES
    monkeypatch.setattr(download, "MAX_RESULT_BYTES", CAP)
    session = guarded_session(api.url + "/v1/order/image")
    for name in ("endless", "bomb"):
        part = tmp_path / f".{name}.part"
        with pytest.raises(BadResult, match=f"ran past {CAP:,} bytes"):
            fetch(session, f"{api.url}/{name}.jpg", part, TIMEOUT)
        assert not part.exists()  # nothing of it kept
    assert [s["headers"].get("Accept-Encoding") for s in api.seen] == ["identity", "identity"]
    fetch(session, f"{api.url}/photo.jpg", tmp_path / ".photo.part", TIMEOUT)  # a real one still comes
    report(
        "result downloads",
        cap=f"{CAP:,} bytes in the test ({in_use:,} in use)",
        endless_body=f"{3 * CAP:,} bytes without a length: stopped at the cap",
        gzip_bomb=f"{api.bomb_size:,} bytes unpacking to {BOMB_INFLATED:,}: stopped at the cap",
        before="400 MB written; the bomb became 314 MB",
    )


def test_results_come_only_from_the_internet_or_the_apis_own_address(hosts, tmp_path, monkeypatch, report):
    import urllib3.util.connection

    api, other = hosts
    port = api.url.rsplit(":", 1)[1]
    session = guarded_session(api.url + "/v1/order/image")
    allowed = [f"{api.url}/photo.jpg", f"http://localhost:{port}/photo.jpg"]  # any name for it
    for n, url in enumerate(allowed):
        fetch(session, url, tmp_path / f".ok{n}.part", TIMEOUT)
    to_other = f"http://127.0.0.1:{other.url.rsplit(':', 1)[1]}/photo.jpg"
    local = [
        to_other,  # another service of this machine
        f"{api.url}/hop?to={to_other}",  # a redirect hop to it
        f"http://localhost:{other.url.rsplit(':', 1)[1]}/photo.jpg",
    ]
    for url in local:
        with pytest.raises(RefusedAddress, match="on this machine or a private network"):
            fetch(session, url, tmp_path / ".no.part", TIMEOUT)
    assert other.seen == []  # the bystander was never reached
    connects = []
    real = urllib3.util.connection.create_connection
    monkeypatch.setattr(
        urllib3.util.connection, "create_connection", lambda *a, **kw: connects.append(a) or real(*a, **kw)
    )
    literals = [
        "http://10.1.2.3/r.jpg",
        "http://192.168.1.1/r.jpg",
        "http://172.16.0.9/r.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/r.jpg",
        "http://0.0.0.0:" + port + "/photo.jpg",
        "http://[::1]:" + port + "/photo.jpg",
        "http://[fe80::1]/r.jpg",
        "http://[fd00::1]/r.jpg",
        "http://[::ffff:10.0.0.1]/r.jpg",
        "https://127.0.0.2:" + port + "/photo.jpg",
    ]
    for url in literals:
        with pytest.raises(RefusedAddress):
            fetch(session, url, tmp_path / ".no.part", TIMEOUT)
    assert connects == []  # refused before any connection was tried
    report(
        "result addresses",
        refused=f"{len(local) + len(literals)} of {len(local) + len(literals)}",
        connections_to_them=0,
        allowed="the API's own address and port, under any name",
    )


def test_a_401_from_a_result_host_is_not_blamed_on_the_key(hosts, tmp_path):
    api, _ = hosts
    with pytest.raises(download.RemoteError) as caught:
        fetch(guarded_session(api.url), f"{api.url}/locked.jpg", tmp_path / ".l.part", TIMEOUT)
    assert str(caught.value) == "the result's host answered HTTP 401"
    assert "key" not in str(caught.value) and "x-api-key" not in {k.lower() for k in api.seen[0]["headers"]}
