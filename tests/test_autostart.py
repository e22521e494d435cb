"""Start at login: what each platform's service manager is given, and what it is asked to do."""

import configparser
import plistlib
import stat
import sys

import pytest

from bridge.setup.autostart import LABEL, RUN_KEY, RUN_VALUE, manager
from support import FakeWinreg


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    """systemctl and launchctl stand-ins on PATH that record their calls."""
    if sys.platform == "win32":
        pytest.skip("the stand-ins are sh scripts")
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("systemctl", "launchctl"):
        script = bin_dir / tool
        script.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\ncase "$*" in *fail-me*) exit 1;; esac\nexit 0\n'
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return lambda: calls.read_text().splitlines() if calls.exists() else []


COMMAND = ["/home/ann/.local/share/aihd-bridge/venv/bin/aihd-bridge", "serve"]


def test_systemd_user_unit(tmp_path, fake_tools):
    home = tmp_path / "home"
    service = manager(
        tmp_path / "data",
        env={"HOME": str(home), "AIHD_PORT": "47400", "AIHD_API_KEY": "secret"},
        platform="linux",
        command=COMMAND,
    )
    message = service.enable()
    assert "enabled" in message
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str
    unit.read(home / ".config/systemd/user/aihd-bridge.service")
    assert unit["Service"]["ExecStart"] == " ".join(COMMAND)
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["Environment"] == '"AIHD_PORT=47400"'  # never the key
    assert unit["Install"]["WantedBy"] == "default.target"
    assert fake_tools() == [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now aihd-bridge.service",
    ]
    assert service.status().enabled
    service.disable()
    assert not (home / ".config/systemd/user/aihd-bridge.service").exists()
    assert "systemctl --user disable --now aihd-bridge.service" in fake_tools()


def test_no_user_systemd_falls_back_to_xdg_autostart(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no systemctl at all
    home = tmp_path / "home"
    service = manager(tmp_path / "data", env={"HOME": str(home)}, platform="linux", command=COMMAND)
    message = service.enable()
    assert "no user systemd" in message and "aihd-bridge serve" in message
    entry = (home / ".config/autostart/aihd-bridge.desktop").read_text()
    assert f"Exec={' '.join(COMMAND)}" in entry
    assert service.status().enabled
    service.disable()
    assert not (home / ".config/autostart/aihd-bridge.desktop").exists()


def test_launch_agent(tmp_path, fake_tools):
    home, data = tmp_path / "home", tmp_path / "data"
    service = manager(
        data, env={"HOME": str(home), "AIHD_HOME": str(data)}, platform="darwin", command=COMMAND
    )
    assert "enabled" in service.enable()
    with (home / f"Library/LaunchAgents/{LABEL}.plist").open("rb") as fh:
        agent = plistlib.load(fh)
    assert agent["ProgramArguments"] == COMMAND and agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["StandardErrorPath"].startswith(str(data / "logs"))
    assert agent["EnvironmentVariables"] == {"AIHD_HOME": str(data)}
    calls = fake_tools()
    assert any(c.startswith("launchctl bootstrap gui/") and c.endswith(f"{LABEL}.plist") for c in calls)
    service.disable()
    assert not (home / f"Library/LaunchAgents/{LABEL}.plist").exists()
    assert any(c.startswith("launchctl bootout") for c in fake_tools())


def test_windows_replaces_the_startup_script_of_earlier_versions(tmp_path, monkeypatch):
    startup = tmp_path / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
    startup.mkdir(parents=True)
    (startup / "aihd-bridge.cmd").write_text("@echo off\r\n")
    registry = FakeWinreg()
    monkeypatch.setitem(sys.modules, "winreg", registry)
    service = manager(
        tmp_path / "data",
        env={"APPDATA": str(tmp_path / "Roaming")},
        platform="win32",
        command=["C:\\Program Files\\aihd\\pythonw.exe", "-m", "bridge.cli.background"],
    )
    service.enable()
    assert not (startup / "aihd-bridge.cmd").exists()
    assert service.status().enabled
    assert registry.values[(RUN_KEY, RUN_VALUE)].startswith('"C:\\Program Files\\aihd\\pythonw.exe" -m')
    service.disable()
    assert not service.status().enabled
