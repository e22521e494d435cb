"""Helpers shared by the tests: paths, the canary key, the CLI in a subprocess, a running bridge."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.core.clock import Clock

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "samples"  # a copy of ../shared/samples (see its README.md)
FIGURES = "reliability figures"  # the user property that carries a test's `report(...)` figures
CANARY_KEY = "canary-KEY-7f3a9c1e-do-not-leak"


def jpeg_bytes(size=(64, 48), color=(200, 120, 40), exif: dict | None = None, **save) -> bytes:
    from PIL import Image

    im = Image.new("RGB", size, color)
    buf = io.BytesIO()
    ex = Image.Exif()
    for tag, value in (exif or {}).items():
        ex[tag] = value
    im.save(buf, "JPEG", exif=ex.tobytes(), **save)
    return buf.getvalue()


def wait_until(condition, timeout: float = 30, what: str = "the condition", step: float = 0.02):
    """Poll `condition` until it returns something true; fail (never hang) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(step)
    return value


def remote_api(url: str, key: str = CANARY_KEY, version: str = "v1", **timeouts):
    """The bridge's view of an API at `url` speaking `version` (no probe: the tests say which)."""
    from bridge.remote.api import RemoteApi
    from bridge.remote.client import ApiClient

    return RemoteApi(ApiClient(url, key, **timeouts), version)


@contextlib.contextmanager
def refusing_port(reuse: bool = False) -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections while the block runs. The socket is bound (the
    OS picks the port) and never listens: a connection gets "connection refused", and no other
    program can listen there meanwhile, whereas a port looked up free and let go could be taken by
    anyone before the test used it. With `reuse`, a bind that sets SO_REUSEADDR as well (waitress's,
    the doctor's check) still succeeds, so the port reads as free to the bridge."""
    with socket.socket() as sock:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


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
    return subprocess.run(
        [sys.executable, "-m", "bridge", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def fake_service_managers(bin_dir: Path, calls: Path) -> None:
    """systemctl and launchctl stand-ins in `bin_dir` that record their calls in `calls` and
    load what they are given, but run nothing (`is-active` and `print` find nothing): a set-up
    then starts the bridge itself, and no test touches the real user's session."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("systemctl", "launchctl"):
        script = bin_dir / tool
        script.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\ncase "$*" in *is-active*|print*) exit 3;; esac\n'
        )
        script.chmod(0o755)


class FakeWinreg(types.ModuleType):
    """The part of `winreg` the set-up uses, over a dict: {(key path, value name): value}."""

    HKEY_CURRENT_USER, KEY_QUERY_VALUE, KEY_SET_VALUE, REG_SZ = "HKCU", 1, 2, 1

    def __init__(self):
        super().__init__("winreg")
        self.values: dict[tuple[str, str], str] = {}

    class Key:
        def __init__(self, path):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def CreateKeyEx(self, root, path, reserved, access):
        assert root == self.HKEY_CURRENT_USER and access & self.KEY_SET_VALUE
        return self.Key(path)

    def OpenKey(self, root, path, reserved, access):
        assert root == self.HKEY_CURRENT_USER
        return self.Key(path)  # the Run key is always there on Windows

    def SetValueEx(self, key, name, reserved, kind, value):
        assert kind == self.REG_SZ and isinstance(value, str)
        self.values[(key.path, name)] = value

    def QueryValueEx(self, key, name):
        if (key.path, name) not in self.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self.values[(key.path, name)], self.REG_SZ

    def DeleteValue(self, key, name):
        if self.values.pop((key.path, name), None) is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")


class RunningBridge:
    """`aihd-bridge serve` in a subprocess on a free port, with a client for its API."""

    def __init__(self, home: Path, env: dict):
        self.home, self.env, self.proc = home, env, None

    def start(self, timeout: float = 20) -> RunningBridge:
        import requests

        info_file = self.home / "bridge.json"
        info_file.unlink(missing_ok=True)
        self.log = open(self.home / "serve-output.txt", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        with contextlib.suppress(AssertionError):  # its output says more than the time did
            wait_until(lambda: info_file.exists() or self.proc.poll() is not None, timeout, "bridge.json")
        if not info_file.exists():
            raise RuntimeError("bridge did not start: " + (self.home / "serve-output.txt").read_text())
        self.info = json.loads(info_file.read_text())
        self.url = self.info["url"]
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {self.info['token']}"
        return self

    def get(self, path: str, **kw):
        return self.http.get(self.url + path, timeout=10, **kw)

    def post(self, path: str, **kw):
        return self.http.post(self.url + path, timeout=30, **kw)

    def upload(self, paths, **fields) -> dict:
        items = [{"path": str(p), "source_id": f"src-{n}"} for n, p in enumerate(paths)]
        resp = self.post("/v1/uploads", json={"items": items, **fields})
        assert resp.status_code == 202, resp.text
        return resp.json()

    def upload_items(self, items: list[dict], **fields) -> dict:
        resp = self.post("/v1/uploads", json={"items": items, **fields})
        assert resp.status_code == 202, resp.text
        return resp.json()

    def wait_orders(self, batch_id: str, timeout: float = 120) -> dict:
        """The batch once its uploads and its orders (submitted ones too) are all over."""
        return self.wait(batch_id, timeout, until="orders_finished")

    def wait(self, batch_id: str, timeout: float = 120, until: str = "finished") -> dict:
        batch: dict = {}

        def over() -> bool:
            batch.update(self.get(f"/v1/batches/{batch_id}").json())
            return batch[until]

        wait_until(over, timeout, f"the batch's {until!r}", step=0.1)
        return batch

    def spool_files(self, settle: float = 10) -> list[Path]:
        """What is left in the spool once the idle-time hasher had its chance to clear it."""
        spool = self.home / "spool"
        with contextlib.suppress(AssertionError):  # what is left after `settle` s is the answer
            wait_until(lambda: not any(spool.iterdir()), settle, "an empty spool", step=0.05)
        return list(spool.iterdir())

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class ManualClock(Clock):
    """A clock that moves only when told: `advance` is time passing, `jump_wall` a laptop's
    sleep (Linux and macOS stop the monotonic clock meanwhile; the wall clock moves on)."""

    def __init__(self, wall: float = 1_800_000_000.0):
        super().__init__()
        self._mono, self._wall = 1000.0, wall

    def monotonic(self) -> float:
        return self._mono

    def wall(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += seconds

    def jump_wall(self, seconds: float) -> None:
        self._wall += seconds


def browser_session(bridge: RunningBridge):
    """Sign in to a bridge's status page as `aihd-bridge open` would: a requests.Session with
    the session cookie, and the page's CSRF token."""
    import re

    import requests

    code_url = bridge.post("/v1/session-code").json()["url"]
    http = requests.Session()
    http.trust_env = False
    resp = http.get(code_url, allow_redirects=False, timeout=10)
    assert resp.status_code == 303 and resp.headers["Location"] == "/", resp.text
    page = http.get(bridge.url + "/", timeout=10)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return http, csrf


class LuaTests:
    """The tests of a Lua file that uses host-plugin/tests/luatest.lua, one pytest test each:
    `names` lists them for parametrize (the file run in list mode, when pytest collects), and
    `check(name)` fails with that test's error, from one run of the whole file (`run`)."""

    def __init__(self, programs: tuple[str, ...], script: Path, *args: str | Path):
        self.programs, self.command = programs, [str(script), *map(str, args)]
        self.results: dict[str, str] | None = None
        self.output = ""

    def names(self) -> list[str]:
        program = next(filter(None, map(shutil.which, self.programs)), None)
        if program is None:  # one placeholder, which the test's Lua fixture skips with the reason
            return [f"{self.programs[0]} missing"]
        listed = subprocess.run(
            [program, *self.command],
            env=os.environ | {"LUATEST_LIST": "1"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        names = [line.split("\t", 1)[1] for line in listed.stdout.splitlines() if line.startswith("test\t")]
        return names or [f"nothing listed: {listed.stderr.strip()[-300:]}"]

    def run(self, program: str, **kw) -> LuaTests:
        proc = subprocess.run([program, *self.command], capture_output=True, text=True, timeout=300, **kw)
        self.output = proc.stdout + proc.stderr
        self.results = {}
        for line in proc.stdout.splitlines():
            verdict, _, rest = line.partition("\t")
            if verdict in ("ok", "FAIL"):
                name, _, error = rest.partition("\t")
                self.results[name] = error if verdict == "FAIL" else ""
        return self

    def check(self, name: str) -> None:
        assert self.results is not None, "run() first"
        if name not in self.results:  # the file stopped before it, or it is not there any more
            pytest.fail(f"{name!r} did not run:\n{self.output}", pytrace=False)
        if self.results[name]:
            pytest.fail(self.results[name], pytrace=False)
