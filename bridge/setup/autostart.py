"""Start the bridge at login: a systemd user unit (Linux), a LaunchAgent (macOS), a value under
the user's Run key (Windows, started by pythonw: no console window). Each keeps the bridge
running (restart on failure); the bridge itself logs to its data dir."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNIT = "aihd-bridge.service"
LABEL = "com.aihomedesign.bridge"
DESKTOP_FILE = "aihd-bridge.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "AI HomeDesign bridge"
# Only what decides where the bridge lives and listens; the key stays in the keyring/file.
SETTINGS_ENV = ("AIHD_HOME", "AIHD_PORT", "AIHD_API_URL")


@dataclass(frozen=True)
class Status:
    enabled: bool
    running: bool | None  # None: the service manager cannot tell
    detail: str


def bridge_command(platform: str | None = None) -> list[str]:
    """How the service manager should start the bridge: this installation's Python (a venv's
    own, which finds the package wherever the venv is), and on Windows its pythonw, which
    opens no console window, running the bridge through `bridge.cli.background`."""
    if (platform or sys.platform) == "win32":
        return [str(Path(sys.executable).with_name("pythonw.exe")), "-m", "bridge.cli.background"]
    return [sys.executable, "-m", "bridge", "serve"]


def _run(*args: str) -> subprocess.CompletedProcess | None:
    if shutil.which(args[0]) is None:
        return None
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


def _env_lines(env: dict[str, str]) -> dict[str, str]:
    return {k: env[k] for k in SETTINGS_ENV if env.get(k)}


class Systemd:
    def __init__(self, home: Path, data_dir: Path, command: list[str], env: dict[str, str]):
        config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        self.unit_path = config / "systemd" / "user" / UNIT
        self.desktop_path = config / "autostart" / DESKTOP_FILE
        self.data_dir, self.command, self.env = data_dir, command, _env_lines(env)

    def unit_text(self) -> str:
        environment = "".join(f'Environment="{k}={v}"\n' for k, v in sorted(self.env.items()))
        return (
            "[Unit]\nDescription=AI HomeDesign bridge (aihd-bridge)\n\n"
            "[Service]\nType=simple\n"
            f"ExecStart={' '.join(_quote(c) for c in self.command)}\n"
            f"{environment}Restart=on-failure\nRestartSec=5\n\n"
            "[Install]\nWantedBy=default.target\n"
        )

    def enable(self) -> str:
        self.unit_path.parent.mkdir(parents=True, exist_ok=True)
        self.unit_path.write_text(self.unit_text(), "utf-8")
        reload = _run("systemctl", "--user", "daemon-reload")
        if reload is None or reload.returncode != 0:
            # No user systemd (containers, WSL, some desktops): the XDG autostart entry
            # starts it with the desktop session instead.
            self.unit_path.unlink(missing_ok=True)
            self._write_desktop_entry()
            why = "systemctl is not installed" if reload is None else reload.stderr.strip()
            return (
                f"no user systemd here ({why}); added {self.desktop_path}, which desktop "
                "sessions start at login. Without a desktop session, run 'aihd-bridge serve' "
                "from your shell profile instead."
            )
        done = _run("systemctl", "--user", "enable", "--now", UNIT)
        if done is None or done.returncode != 0:
            said = done.stderr.strip() if done else "it is gone"
            return f"wrote {self.unit_path}, but systemctl said: {said}"
        return f"enabled {self.unit_path} (systemd user service, restarts on failure)"

    def _write_desktop_entry(self) -> None:
        self.desktop_path.parent.mkdir(parents=True, exist_ok=True)
        exec_line = (
            " ".join(
                ["env", *(f"{k}={v}" for k, v in sorted(self.env.items()))]
                + [_quote(c) for c in self.command]
            )
            if self.env
            else " ".join(_quote(c) for c in self.command)
        )
        self.desktop_path.write_text(
            "[Desktop Entry]\nType=Application\nName=AI HomeDesign bridge\n"
            f"Exec={exec_line}\nX-GNOME-Autostart-enabled=true\nNoDisplay=true\n",
            "utf-8",
        )

    def disable(self) -> str:
        if self.unit_path.exists():
            _run("systemctl", "--user", "disable", "--now", UNIT)
            self.unit_path.unlink()
            _run("systemctl", "--user", "daemon-reload")
        self.desktop_path.unlink(missing_ok=True)
        return "start at login is off"

    def status(self) -> Status:
        if self.desktop_path.exists():
            return Status(True, None, f"XDG autostart entry {self.desktop_path}")
        if not self.unit_path.exists():
            return Status(False, False, "not set up")
        enabled = _run("systemctl", "--user", "is-enabled", UNIT)
        active = _run("systemctl", "--user", "is-active", UNIT)
        return Status(
            bool(enabled and enabled.returncode == 0),
            None if active is None else active.returncode == 0,
            f"systemd user service {self.unit_path}",
        )


class LaunchAgent:
    def __init__(self, home: Path, data_dir: Path, command: list[str], env: dict[str, str]):
        self.plist_path = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        self.data_dir, self.command, self.env = data_dir, command, _env_lines(env)
        self.domain = f"gui/{os.getuid()}" if hasattr(os, "getuid") else "gui"

    def plist(self) -> dict:
        logs = self.data_dir / "logs"
        agent = {
            "Label": LABEL,
            "ProgramArguments": self.command,
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},  # restart on failure, not after a clean stop
            "ProcessType": "Background",
            "StandardOutPath": str(logs / "launchd.out.log"),
            "StandardErrorPath": str(logs / "launchd.err.log"),
        }
        if self.env:
            agent["EnvironmentVariables"] = self.env
        return agent

    def enable(self) -> str:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.plist_path.parent.mkdir(parents=True, exist_ok=True)
        with self.plist_path.open("wb") as fh:
            plistlib.dump(self.plist(), fh)
        _run("launchctl", "bootout", f"{self.domain}/{LABEL}")  # an older copy, if loaded
        done = _run("launchctl", "bootstrap", self.domain, str(self.plist_path))
        if done is None or done.returncode != 0:
            why = "launchctl not found" if done is None else done.stderr.strip()
            return f"wrote {self.plist_path}; it loads at next login ({why})"
        return f"enabled {self.plist_path} (LaunchAgent, restarts on failure)"

    def disable(self) -> str:
        _run("launchctl", "bootout", f"{self.domain}/{LABEL}")
        self.plist_path.unlink(missing_ok=True)
        return "start at login is off"

    def status(self) -> Status:
        if not self.plist_path.exists():
            return Status(False, False, "not set up")
        done = _run("launchctl", "print", f"{self.domain}/{LABEL}")
        return Status(True, None if done is None else done.returncode == 0, f"LaunchAgent {self.plist_path}")


class RunAtLogon:
    """HKCU\\...\\Run (Task Manager lists it among the Startup apps): the command line of
    `bridge_command` with the settings as NAME=VALUE arguments, since a Run value sets no
    environment. Earlier versions put a .cmd script in the Startup folder, which opened a
    console window at every login: enabling or disabling removes it."""

    def __init__(self, home: Path, data_dir: Path, command: list[str], env: dict[str, str]):
        appdata = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        self.old_script = (
            appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / "aihd-bridge.cmd"
        )
        self.command = [*command, *(f"{k}={v}" for k, v in sorted(_env_lines(env).items()))]

    def command_line(self) -> str:
        return subprocess.list2cmdline(self.command)  # quotes what holds spaces, as Windows reads it

    def enable(self) -> str:
        winreg = _winreg()
        self.old_script.unlink(missing_ok=True)
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, self.command_line())
        return f"the bridge starts at login, without a window ({RUN_VALUE!r} in Startup apps)"

    def disable(self) -> str:
        winreg = _winreg()
        self.old_script.unlink(missing_ok=True)
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            pass  # never enabled
        return "start at login is off"

    def registered(self) -> str | None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_QUERY_VALUE) as key:
                return winreg.QueryValueEx(key, RUN_VALUE)[0]
        except FileNotFoundError:
            return None

    def status(self) -> Status:
        line = self.registered()
        if line is None:
            return Status(False, False, "not set up")
        return Status(True, None, f"{RUN_VALUE!r} in Startup apps: {line}")


def _winreg() -> Any:
    import winreg  # Windows only (the tests give a stand-in)

    return winreg


def manager(
    data_dir: Path,
    env: dict[str, str] | None = None,
    platform: str | None = None,
    home: Path | None = None,
    command: list[str] | None = None,
):
    env = dict(os.environ if env is None else env)
    platform = platform or sys.platform
    home = home or Path(env.get("HOME") or Path.home())
    kind = {"darwin": LaunchAgent, "win32": RunAtLogon}.get(platform, Systemd)
    return kind(home, data_dir, command or bridge_command(platform), env)


def _quote(arg: str) -> str:
    return f'"{arg}"' if any(c in arg for c in ' "\\') else arg
