"""The OpenAPI document and the app agree: same routes, and answers use documented statuses."""

import re

import pytest

from bridge.connect import remote_client
from bridge.core.config import load_settings
from bridge.runtime import Runtime
from bridge.web.app import create_app
from bridge.web.openapi import openapi_document

TOKEN = "t" * 43


@pytest.fixture
def app(tmp_path):
    settings = load_settings({"AIHD_HOME": str(tmp_path)})
    runtime = Runtime(settings, remote_client)
    app = create_app(settings, runtime=runtime, token=TOKEN, port=47311)
    yield app
    runtime.stop(0)


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue  # the status page (pages.py) is for browsers, not part of the API
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        found |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_route_is_documented_and_nothing_else(app):
    doc = openapi_document()
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert _routes(app) == documented


def test_answers_use_documented_statuses(app, tmp_path):
    doc = openapi_document()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}", "Host": "127.0.0.1:47311"}
    calls = [
        ("get", "/v1/health", None, {"Host": "127.0.0.1:47311"}),
        ("get", "/v1/identity?nonce=" + "n" * 32, None, {"Host": "127.0.0.1:47311"}),
        ("get", "/v1/identity?nonce=short", None, {"Host": "127.0.0.1:47311"}),
        ("get", "/v1/history", None, auth),
        ("get", "/v1/history?state=zzz", None, auth),
        ("get", "/v1/services", None, auth),
        ("get", "/v1/presets", None, auth),
        ("get", "/v1/catalog?service=day-to-dusk", None, auth),
        ("get", "/v1/catalog?service=paint-it-pink", None, auth),
        ("get", "/v1/history?order_state=zzz", None, auth),
        ("get", "/v1/openapi.json", None, auth),
        ("get", "/v1/batches/nope", None, auth),
        ("get", "/v1/uploads/nope", None, auth),
        ("get", "/v1/batches/nope?since=x", None, auth),
        ("get", "/v1/changes", None, auth),
        ("get", "/v1/changes?client=lightroom:a&since=3", None, auth),
        ("post", "/v1/batches/nope/retry", {}, auth),
        ("post", "/v1/uploads/nope/cancel", {}, auth),
        ("post", "/v1/uploads", {"items": []}, auth),
        ("post", "/v1/uploads", {"items": [{"path": str(tmp_path / "x.jpg")}]}, auth),
        ("post", "/v1/inspect", {"path": "relative"}, auth),
        ("post", "/v1/inspect", {"path": str(tmp_path / "x.jpg")}, auth),
        ("get", "/v1/history", None, {"Host": "127.0.0.1:47311"}),
    ]
    for method, url, body, headers in calls:
        resp = getattr(client, method)(url, json=body, headers=headers)
        template = next(
            p for p in doc["paths"] if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", p), url.split("?")[0])
        )
        assert str(resp.status_code) in doc["paths"][template][method]["responses"], (url, resp.status_code)
        assert resp.is_json


def test_nasty_json_gets_400_not_500(app):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}", "Host": "127.0.0.1:47311", "Content-Type": "application/json"}
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b"{not json",
        b'"just a string"',
        b'{"items": "x"}',
        b'{"items": [' + b'{"path": 1},' * 10_001 + b"{}]}",
        '{"items": [{"path": "/tmp/\udcff", "source_id": "\ud800"}]}'.encode("utf-8", "surrogatepass"),
    ):
        resp = client.post("/v1/uploads", data=body, headers=auth)
        assert resp.status_code in (400, 202), resp.status_code
