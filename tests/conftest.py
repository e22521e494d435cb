"""Shared fixtures: the sample photos, a sandbox API on a free port, photo factories, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.sandbox import SandboxState, create_sandbox_app
from bridge.web.background import BackgroundServer
from support import CANARY_KEY, SAMPLES, RunningBridge, bridge_env, jpeg_bytes


@pytest.fixture(scope="session")
def samples() -> Path:
    if not (SAMPLES / "expected.json").is_file():  # a test that needs them fails without them
        pytest.fail(f"sample photos not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture(scope="session")
def expected(samples) -> dict:
    return json.loads((samples / "expected.json").read_text())


def _serve_sandbox(api: str):
    state = SandboxState(processing_time=0.3, api=api)
    with BackgroundServer(create_sandbox_app(state)) as server:
        server.state = state
        yield server


@pytest.fixture
def sandbox():
    """A v1 sandbox API on a free 127.0.0.1 port (the bridge finds out it speaks v1); `.state`
    holds what it received, as v1 names it. Its orders take 0.3 s to process. Bridges without a
    key use their embedded sandbox, which speaks v3."""
    yield from _serve_sandbox("v1")


@pytest.fixture
def sandbox_v3():
    """As `sandbox`, speaking v3."""
    yield from _serve_sandbox("v3")


@pytest.fixture
def make_jpeg(tmp_path):
    counter = iter(range(1_000_000))

    def make(name: str | None = None, **kw) -> Path:
        n = next(counter)
        kw.setdefault("exif", {0x010E: f"test photo {n}"})  # distinct photos, distinct bytes
        path = tmp_path / (name or f"photo-{n}.jpg")
        path.write_bytes(jpeg_bytes(**kw))
        return path

    return make


@pytest.fixture
def start_bridge(tmp_path):
    """Start bridges against a given API URL; all are stopped at the end of the test."""
    started = []

    def start(
        api_url: str | None,
        api_key: str | None = CANARY_KEY,
        home: Path | None = None,
        config: str = "retry_base = 0.05\n",
        **env,
    ) -> RunningBridge:
        home = home or tmp_path / "bridge-home"
        home.mkdir(exist_ok=True)
        (home / "config.toml").write_text(config)
        bridge = RunningBridge(home, bridge_env(home, api_url, api_key, AIHD_PORT="0", **env))
        started.append(bridge)
        return bridge.start()

    yield start
    for bridge in started:
        bridge.stop()
