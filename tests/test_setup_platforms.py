"""`aihd-bridge setup` on Windows and macOS, simulated on this machine: the platform patched, a
fake home tree (a user name with spaces and an accent), a stand-in registry or launchctl. The
bridge it starts is a real one (this OS's), so the first upload and the uninstall's stop are
real too; only the command it was asked to start is checked against the platform's."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main, setting_up
from bridge.setup import launch
from bridge.setup.autostart import LABEL, RUN_KEY, RUN_VALUE
from support import FakeWinreg, fake_service_managers, wait_until

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="simulates Windows and macOS on a POSIX machine (sh stand-ins)"
)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A home folder of 'José Silva' (with a space), the bridge's venv inside it, a PATH with
    only stand-ins, and `detach` starting this OS's bridge while recording what it was given."""
    home = tmp_path / "Users" / "José Silva"
    home.mkdir(parents=True)
    tools, calls, asked = tmp_path / "bin", tmp_path / "calls.log", []
    fake_service_managers(tools, calls)
    for name in [k for k in os.environ if k.startswith(("AIHD_", "XDG_"))]:
        monkeypatch.delenv(name)
    for name, value in {
        "HOME": str(home),
        "PATH": f"{tools}:/usr/bin:/bin",
        "AIHD_PORT": "0",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }.items():
        monkeypatch.setenv(name, value)
    real_python, started = sys.executable, []

    def detach(command, out, platform):
        asked.append(command)
        proc = subprocess.Popen(
            [real_python, "-m", "bridge", "serve"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(proc)
        # reaped as soon as it ends, as a detached bridge is: a zombie would look alive to `stop`
        threading.Thread(target=proc.wait, daemon=True).start()

    monkeypatch.setattr(launch, "detach", detach)
    machine = types.SimpleNamespace(
        home=home,
        setenv=monkeypatch.setenv,
        asked=asked,
        calls=lambda: calls.read_text().splitlines() if calls.exists() else [],
    )
    yield machine
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _as_platform(monkeypatch, platform: str, executable: Path) -> None:
    """Run the set-up's steps as on `platform`, with the venv's Python at `executable` (the
    first upload after them is the same on every OS, and click's terminal code is this OS's)."""

    def patched(step):
        def run(*args, **kw):
            with monkeypatch.context() as patch:
                patch.setattr(sys, "platform", platform)
                patch.setattr(sys, "executable", str(executable))
                return step(*args, **kw)

        return run

    monkeypatch.setattr(setting_up, "set_up", patched(setting_up.set_up))
    monkeypatch.setattr(setting_up, "tear_down", patched(setting_up.tear_down))


def _setup(*args) -> str:
    result = CliRunner().invoke(main, ["setup", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _outside(files: dict[str, bytes], data: Path, home: Path) -> dict[str, bytes]:
    """What setup wrote outside the bridge's data dir (whose log, database and bridge.json
    change at every start)."""
    inside = str(data.relative_to(home))
    return {name: content for name, content in files.items() if not name.startswith(inside)}


def test_windows(machine, monkeypatch):
    home = machine.home
    local, roaming = home / "AppData" / "Local", home / "AppData" / "Roaming"
    data, venv = local / "aihd-bridge", local / "aihd-bridge" / "venv" / "Scripts"
    (roaming / "Adobe" / "Lightroom").mkdir(parents=True)  # Lightroom has run here
    (local / "darktable").mkdir(parents=True)  # and darktable
    registry = FakeWinreg()
    monkeypatch.setitem(sys.modules, "winreg", registry)
    _as_platform(monkeypatch, "win32", venv / "python.exe")
    for name, value in {"APPDATA": roaming, "LOCALAPPDATA": local, "AIHD_HOME": data}.items():
        machine.setenv(name, str(value))

    output = _setup()
    assert "order sandbox-" in output
    run_value = registry.values[(RUN_KEY, RUN_VALUE)]
    pythonw = venv / "pythonw.exe"
    # pythonw: no console window; quoted, as the path holds a space
    assert run_value == (f'"{pythonw}" -m bridge.cli.background "AIHD_HOME={data}" AIHD_PORT=0')
    assert machine.asked == [[str(pythonw), "-m", "bridge.cli.background"]]
    modules = roaming / "Adobe" / "Lightroom" / "Modules" / "aihomedesign.lrplugin"
    assert (modules / "Info.lua").is_file() and (modules / "logic" / "AihdJson.lua").is_file()
    presets = roaming / "Adobe" / "Lightroom" / "Export Presets" / "AI HomeDesign"
    assert len(list(presets.glob("*.lrtemplate"))) == 6
    contrib = local / "darktable" / "lua" / "contrib"
    assert (contrib / "aihomedesign.lua").is_file()
    assert (local / "darktable" / "luarc").read_text("utf-8") == 'require "contrib/aihomedesign"\n'
    written = _outside(_files(home), data, home)
    assert written.keys() == {
        str(p.relative_to(home))
        for root in (modules, presets, contrib)
        for p in root.rglob("*")
        if p.is_file()
    } | {"AppData/Local/darktable/luarc"}

    _setup()  # again: the same files, the same entry, a bridge on the new code
    assert _outside(_files(home), data, home) == written
    assert list(registry.values.values()) == [run_value]

    _setup("--uninstall", "--purge")
    assert registry.values == {}
    assert _files(home) == {}
    wait_until(lambda: not (data / "bridge.json").exists(), what="the bridge's stop")


def test_macos(machine, monkeypatch):
    home = machine.home
    support = home / "Library" / "Application Support"
    data, venv = support / "aihd-bridge", support / "aihd-bridge" / "venv" / "bin"
    (support / "Adobe" / "Lightroom").mkdir(parents=True)
    _as_platform(monkeypatch, "darwin", venv / "python")
    machine.setenv("AIHD_HOME", str(data))

    output = _setup()
    assert "order sandbox-" in output
    plist = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    with plist.open("rb") as fh:
        agent = plistlib.load(fh)
    assert agent["ProgramArguments"] == [str(venv / "python"), "-m", "bridge", "serve"]
    assert agent["EnvironmentVariables"] == {"AIHD_HOME": str(data), "AIHD_PORT": "0"}
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert f"launchctl bootstrap gui/{os.getuid()} {plist}" in machine.calls()
    assert machine.asked == [[str(venv / "python"), "-m", "bridge", "serve"]]  # launchd ran nothing
    modules = support / "Adobe" / "Lightroom" / "Modules" / "aihomedesign.lrplugin"
    assert (modules / "Info.lua").is_file()
    written = _outside(_files(home), data, home)
    assert f"Library/LaunchAgents/{LABEL}.plist" in written

    _setup()
    assert _outside(_files(home), data, home) == written

    _setup("--uninstall", "--purge")
    assert _files(home) == {}
    assert f"launchctl bootout gui/{os.getuid()}/{LABEL}" in machine.calls()


def test_uninstall_goes_on_past_a_file_still_held(tmp_path, monkeypatch):
    """Windows: the windowless runner may hold logs/serve.out a moment after the bridge ended."""
    from bridge.setup import machine

    home = tmp_path / "data"
    (home / "logs").mkdir(parents=True)
    (home / "spool").mkdir()
    (home / "bridge.sqlite3").write_bytes(b"history")
    real_rmtree = shutil.rmtree

    def held(path, *args, **kw):
        if Path(path).name == "logs":
            raise PermissionError(13, "The process cannot access the file", str(path))
        real_rmtree(path, *args, **kw)

    monkeypatch.setattr(shutil, "rmtree", held)
    for name in [k for k in os.environ if k.startswith(("AIHD_", "XDG_"))]:
        monkeypatch.delenv(name)  # nothing of the real user's is touched
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "no tools"))
    lines: list[str] = []
    machine.tear_down(home, purge=False, echo=lines.append)
    assert any(line.startswith(f"could not remove {home / 'logs'}") for line in lines), lines
    assert sorted(p.name for p in home.iterdir()) == ["bridge.sqlite3", "logs"]
