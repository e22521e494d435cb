"""The remote client against the sandbox over real HTTP on 127.0.0.1."""

import hashlib
import socket
import threading

import pytest

from bridge.photo.formats import UploadFile
from bridge.remote.client import ApiClient, RemoteError, parse_retry_after
from bridge.sandbox import Fault, FaultPlan, key_fingerprint
from support import CANARY_KEY, refusing_port, remote_api


@pytest.fixture
def client(sandbox):
    c = remote_api(sandbox.url, read_timeout=5)
    yield c
    c.close()


@pytest.fixture
def photo(make_jpeg):
    path = make_jpeg("kitchen.jpg")
    return UploadFile(path, path.name, "image/jpeg")


def _fail(client, photo, service="service-day-to-dusk") -> RemoteError:
    with pytest.raises(RemoteError) as info:
        client.upload(photo, service)
    assert CANARY_KEY not in str(info.value)
    return info.value


def test_sends_exactly_the_documented_fields(client, photo, sandbox):
    progress = []
    order_id = client.upload(photo, "service-day-to-dusk", on_progress=progress.append).order_id
    got = sandbox.state.received[-1]
    assert order_id == got["order_id"] and order_id.startswith("sandbox-")
    assert got["service_name"] == "service-day-to-dusk"
    assert got["filename"] == "kitchen.jpg" and got["content_type"] == "image/jpeg"
    assert got["sha256"] == hashlib.sha256(photo.path.read_bytes()).hexdigest()
    assert got["key"] == key_fingerprint(CANARY_KEY)
    assert progress and progress[-1] >= photo.path.stat().st_size


def test_same_client_uploads_again_with_a_fresh_encoder(client, photo, sandbox):
    ids = {client.upload(photo, "service-item-removal").order_id for _ in range(3)}
    assert len(ids) == 3 and len(sandbox.state.orders()) == 3


@pytest.mark.parametrize(
    "fault,status,retryable,words",
    [
        (Fault(status=500), 500, True, "the API had a problem (HTTP 500): injected fault 500"),
        (Fault(status=503, retry_after="7"), 503, True, "HTTP 503"),
        (Fault(status=429, retry_after="12"), 429, True, "rate limiting"),
        (Fault(status=413), 413, False, "too large"),
        (Fault(status=502, body="<html><h1>Bad gateway</h1></html>"), 502, True, "Bad gateway"),
        (Fault(status=403, body="nope"), 403, False, "may not do this (HTTP 403): nope"),
    ],
)
def test_errors_are_typed(client, photo, sandbox, fault, status, retryable, words):
    sandbox.state.faults = FaultPlan(script=[fault])
    err = _fail(client, photo)
    assert (err.status, err.retryable) == (status, retryable)
    assert words in str(err)
    if fault.retry_after:
        assert err.retry_after == float(fault.retry_after)


def test_contract_errors_of_the_sandbox(sandbox, photo):
    no_key = remote_api(sandbox.url, "")
    err = _fail(no_key, photo)
    assert err.status == 401 and not err.retryable
    err = _fail(remote_api(sandbox.url), photo, "service-nope")
    assert err.status == 400 and "invalid service_name" in err.message


def test_dropped_connection_and_timeout_are_retryable(client, photo, sandbox):
    sandbox.state.faults = FaultPlan(script=[Fault(drop=True), Fault(delay=1.5)])
    err = _fail(client, photo)
    assert err.status is None and err.retryable and "dropped" in str(err) and err.outage
    client.client.read_timeout = 0.3
    err = _fail(client, photo)
    assert err.status is None and err.retryable and "in time" in str(err)
    assert not err.outage  # the photo went out; the API's silence may be about it


def test_refused_connection(photo):
    with refusing_port() as port:
        err = _fail(remote_api(f"http://127.0.0.1:{port}"), photo)
    assert err.status is None and err.retryable and "Connection refused" in str(err)
    assert err.outage


@pytest.mark.parametrize(
    "status,outage", [(502, True), (503, True), (504, True), (500, False), (429, False), (400, False)]
)
def test_which_answers_say_the_api_is_down(client, photo, sandbox, status, outage):
    sandbox.state.faults = FaultPlan(script=[Fault(status=status)])
    assert _fail(client, photo).outage is outage


def test_the_sandbox_can_be_out_of_reach_for_a_while(client, photo, sandbox):
    sandbox.state.unreachable_for(60)
    err = _fail(client, photo)
    assert err.status is None and err.outage and sandbox.state.received == []
    sandbox.state.unreachable_for(0)
    assert client.upload(photo, "service-day-to-dusk").order_id


def _one_shot_server(response: bytes) -> str:
    """A raw HTTP endpoint answering one request with `response`, whatever it is."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1]
            )
            while len(body) < length:
                body += conn.recv(65536)
            conn.sendall(response)
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}"


@pytest.mark.parametrize("body", [b'{"status": "ok"}', b'{"order_id": 42}', b"not json"])
def test_200_without_an_order_id_is_an_error(photo, body):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    err = _fail(remote_api(_one_shot_server(answer)), photo)
    assert err.status == 200 and not err.retryable and "no order id" in str(err)


def test_remote_echoing_the_key_is_scrubbed(photo):
    body = b'{"error": "bad key ' + CANARY_KEY.encode() + b'"}'
    answer = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
        len(body),
        body,
    )
    err = _fail(remote_api(_one_shot_server(answer)), photo)
    assert err.message == "bad key ***"


def test_retry_after_forms():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 1


def test_repr_hides_the_key():
    assert CANARY_KEY not in repr(ApiClient("http://127.0.0.1:1", CANARY_KEY))
