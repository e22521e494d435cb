"""Shared fixtures: the sample photos, a sandbox API on a free port, photo factories, the CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.httpserver import BackgroundServer
from bridge.sandbox import SandboxState, create_sandbox_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
CANARY_KEY = "canary-KEY-7f3a9c1e-do-not-leak"


@pytest.fixture(scope="session")
def samples() -> Path:
    if not (SAMPLES / "expected.json").is_file():
        pytest.skip(f"sample photos not found at {SAMPLES} (../shared/samples beside the repo)")
    return SAMPLES


@pytest.fixture(scope="session")
def expected(samples) -> dict:
    return json.loads((samples / "expected.json").read_text())


@pytest.fixture
def sandbox():
    """The sandbox API on a free 127.0.0.1 port; `.state` holds what it received."""
    state = SandboxState()
    with BackgroundServer(create_sandbox_app(state)) as server:
        server.state = state
        yield server


def jpeg_bytes(size=(64, 48), color=(200, 120, 40), exif: dict | None = None, **save) -> bytes:
    from PIL import Image

    im = Image.new("RGB", size, color)
    buf = io.BytesIO()
    ex = Image.Exif()
    for tag, value in (exif or {}).items():
        ex[tag] = value
    im.save(buf, "JPEG", exif=ex.tobytes(), **save)
    return buf.getvalue()


@pytest.fixture
def make_jpeg(tmp_path):
    counter = iter(range(1_000_000))

    def make(name: str | None = None, **kw) -> Path:
        path = tmp_path / (name or f"photo-{next(counter)}.jpg")
        path.write_bytes(jpeg_bytes(**kw))
        return path

    return make


def bridge_env(home: Path, api_url: str | None = None, api_key: str | None = CANARY_KEY, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHD_")}
    env["AIHD_HOME"] = str(home)
    if api_url:
        env["AIHD_API_URL"] = api_url
    if api_key:
        env["AIHD_API_KEY"] = api_key
    env.update(extra)
    return env


def run_cli(*args, env: dict, timeout: float = 120, input: str | None = None):
    return subprocess.run([sys.executable, "-m", "bridge", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, input=input)
