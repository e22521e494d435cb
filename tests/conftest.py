"""Shared fixtures: the sample photos, a sandbox API on a free port, photo factories, the CLI;
and the reliability suite's summary of figures, gathered here in the main process (under xdist the
tests run in workers, and only this conftest is loaded where the summary is written)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bridge.sandbox import SandboxState, create_sandbox_app
from bridge.web.background import BackgroundServer
from support import CANARY_KEY, FIGURES, SAMPLES, RunningBridge, bridge_env, jpeg_bytes

WRITE_DOCS = "AIHD_WRITE_DOCS"  # =1: write the reliability summary into docs/reliability.md
_figures: dict[str, dict] = {}  # area -> figures, from the `report` fixture of tests/reliability


def pytest_collection_modifyitems(items):
    # The long tests first, longest first (a stable sort, the same in every xdist worker, which
    # must agree on the order): the workers then share out the short ones while those run.
    def seconds(item) -> float:
        long = item.get_closest_marker("long")
        return long.args[0] if long else 0

    items.sort(key=seconds, reverse=True)


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == FIGURES:
            for area, figures in value.items():
                _figures.setdefault(area, {}).update(figures)


def _line(values: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in values.items())


def figures_table(figures: dict[str, dict], when: str, machine: str) -> str:
    """The summary as a Markdown table for docs/reliability.md."""
    rows = [f"From a run on {when}, {machine}:", "", "| area | figures |", "| --- | --- |"]
    rows += [f"| {area} | {_line(values).replace('|', '/')} |" for area, values in sorted(figures.items())]
    return "\n".join(rows)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _figures:
        return
    terminalreporter.write_sep("=", "reliability summary")
    for area, values in sorted(_figures.items()):
        terminalreporter.write_line(f"{area:<22} {_line(values)}")
    if os.environ.get(WRITE_DOCS, "") in ("", "0"):  # only on request: a test run leaves the tree as it was
        return
    from bench.doc_tables import DOCS, machine, now, write_between  # the repository root, python -m pytest

    if exitstatus != 0:
        terminalreporter.write_line("docs/reliability.md not written: the run did not pass")
        return
    write_between(DOCS / "reliability.md", "reliability", figures_table(_figures, now(), machine()))
    terminalreporter.write_line("figures written into docs/reliability.md")


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
