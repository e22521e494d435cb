"""`aihd-bridge setup` from the installed package (not editable, the checkout gone), in a fresh
HOME: the plugins come from the package, a first photo gets a sandbox order id, and
`--uninstall` leaves no unit, plugin or running bridge. Also the pieces only Windows needs,
run here for real: the stop without signals and the windowless runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

from bridge.discovery import find_bridge, pid_alive, stop_bridge
from support import ROOT, RunningBridge, bridge_env, fake_service_managers, wait_until


@pytest.fixture
def installed(tmp_path):
    if sys.platform != "linux":
        pytest.skip("checks Linux's systemd unit; macOS and Windows are simulated in test_setup_platforms.py")
    """A venv with aihd-bridge installed by `pip install` from a clean copy of the repository
    (its tracked files), which is then removed. Its dependencies come from the test venv (a .pth
    line: no download), and pip's cache serves the build backend."""
    src, venv = tmp_path / "src", tmp_path / "venv"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    subprocess.run(["rm", "-rf", str(src)], check=True)
    return venv


def test_setup_from_the_installed_package(installed, tmp_path):
    home, tools, calls = tmp_path / "home", tmp_path / "bin", tmp_path / "calls.log"
    lightroom, darktable = home / "Adobe" / "Lightroom", home / ".config" / "darktable"
    lightroom.mkdir(parents=True)
    darktable.mkdir(parents=True)
    fake_service_managers(tools, calls)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIHD_", "XDG_", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home),
        PATH=f"{tools}:{env['PATH']}",
        AIHD_PORT="0",
        AIHD_LIGHTROOM_DIR=str(lightroom),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    aihd = installed / "bin" / "aihd-bridge"

    def run(*args):
        return subprocess.run([aihd, *args], env=env, cwd=home, capture_output=True, text=True, timeout=120)

    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import bridge; print(bridge.__file__)"],
        env=env,
        cwd=home,  # not the checkout, whose bridge/ a bare `python -c` would import
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr
    darktable_only = run("plugin", "install", "--host", "darktable")
    assert darktable_only.returncode == 0, darktable_only.stderr  # it failed: "run this from a checkout"

    first = run("setup")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "order sandbox-" in first.stdout and "sandbox mode" in first.stderr
    data = home / ".local" / "share" / "aihd-bridge"
    unit = home / ".config" / "systemd" / "user" / "aihd-bridge.service"
    assert f"ExecStart={installed / 'bin' / 'python'} -m bridge serve" in unit.read_text()
    assert (lightroom / "Modules" / "aihomedesign.lrplugin" / "Info.lua").is_file()
    assert (darktable / "lua" / "contrib" / "aihomedesign_lib" / "AihdJson.lua").is_file()
    pid = json.loads((data / "bridge.json").read_text())["pid"]

    gone = run("setup", "--uninstall")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not unit.exists()
    assert not (lightroom / "Modules" / "aihomedesign.lrplugin").exists()
    assert not (darktable / "lua" / "contrib" / "aihomedesign.lua").exists()
    assert not pid_alive(pid)
    assert "systemctl --user disable --now aihd-bridge.service" in calls.read_text()
    assert sorted(p.name for p in data.iterdir()) == ["bridge.sqlite3"]  # the history stays


def test_stop_without_signals(tmp_path):
    """What `stop` does on Windows: a request the bridge picks up, then a clean end."""
    home = tmp_path / "José Silva" / "aihd data"
    home.mkdir(parents=True)
    bridge = RunningBridge(home, bridge_env(home, AIHD_PORT="0")).start()
    try:
        found = find_bridge(home)
        threading.Thread(target=bridge.proc.wait, daemon=True).start()  # no zombie left to look alive
        assert stop_bridge(home, found, timeout=20, signals=False)
        assert bridge.proc.wait(5) == 0
        assert not (home / "bridge.json").exists() and not (home / "stop-request").exists()
    finally:
        bridge.stop()


def test_the_windowless_runner_restarts_a_crashed_bridge(tmp_path):
    """`python -m bridge.cli.background NAME=VALUE...`, as the Run key starts it with pythonw:
    the settings from its arguments, the bridge's output in logs/, a crash restarted, a stop
    the end of it."""
    home = tmp_path / "José Silva" / "aihd data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHD_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    runner = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli.background", f"AIHD_HOME={home}", "AIHD_PORT=0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        first = wait_until(lambda: find_bridge(home).pid, what="the bridge's start")
        os.kill(first, getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows: TerminateProcess
        second = wait_until(lambda: find_bridge(home).pid, timeout=20, what="the restart")
        assert second != first and runner.poll() is None
        assert stop_bridge(home, find_bridge(home), timeout=20)
        assert runner.wait(10) == 0
        assert "aihd-bridge" in (home / "logs" / "serve.out").read_text("utf-8")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
