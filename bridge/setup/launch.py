"""Starting the bridge now, as it starts at login: in the background, outliving the set-up
that started it, and on Windows without a window."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ..discovery import LocalBridge, running_bridge
from .autostart import bridge_command

POLL = 0.2


def start_in_background(home: Path) -> None:
    """Start `bridge_command` detached: its own session (POSIX), or no console (Windows)."""
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "serve.out", "a", encoding="utf-8") as out:
        detach(bridge_command(sys.platform), out, sys.platform)


def detach(command: list[str], out, platform: str) -> None:
    if platform == "win32":  # pythonw, through bridge.cli.background: it keeps its own log
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            creationflags=flags,
        )
    else:
        subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_for_bridge(home: Path, timeout: float) -> LocalBridge | None:
    """The bridge serving `home` once it answers, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (bridge := running_bridge(home)) is None and time.monotonic() < deadline:
        time.sleep(POLL)
    return bridge
