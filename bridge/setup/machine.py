"""`aihd-bridge setup`: what an installer does once the package is in place, on every OS, and
its mirror `--uninstall`. Each step may run again: files are rewritten the same, the bridge is
restarted on the installed code."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from ..core.keystore import forget_key
from ..discovery import INFO_FILE, find_bridge, stop_bridge
from . import autostart, plugins
from .launch import start_in_background, wait_for_bridge

FIRST_PHOTO = "first-photo.jpg"
STOP_TIMEOUT = 30.0
START_TIMEOUT = 30.0
# What the service manager may take to start the bridge it was just given before we start it.
MANAGER_GRACE = 10.0
# What --uninstall removes from the data dir; the history (bridge.sqlite3), settings, key and
# results stay unless --purge. The venv is the installer's to remove: it runs this.
REMOVED = ("spool", "thumbs", "logs", FIRST_PHOTO, INFO_FILE)


class SetupError(Exception):
    pass


def set_up(home: Path, *, plugin: bool, login: bool, echo: Callable[[str], None]) -> str:
    """The plugins, start at login, the bridge running on this installation's code; returns
    the running bridge's mode (sandbox or live)."""
    if plugin:
        source = plugins.bundled_plugins()
        for line in plugins.install(source, home) + plugins.install_darktable(source, only_if_found=True):
            echo(line)
    stop(home)  # a bridge from an earlier install runs the old code
    manager = autostart.manager(home)
    if login:
        echo(manager.enable())
    started_by_manager = login and manager.status().running
    bridge = wait_for_bridge(home, MANAGER_GRACE) if started_by_manager else None
    if bridge is None:
        start_in_background(home)
        bridge = wait_for_bridge(home, START_TIMEOUT)
    if bridge is None:
        raise SetupError(f"the bridge did not start: see {home / 'logs'}")
    health = bridge.get("/v1/health")
    echo(f"the bridge runs at {bridge.url} ({health['mode']} mode), data in {home}")
    return str(health["mode"])


def first_photo(home: Path) -> Path:
    from .first_photo import write_first_photo

    return write_first_photo(home / FIRST_PHOTO)


def tear_down(home: Path, *, purge: bool, echo: Callable[[str], None]) -> None:
    """Start at login off, the bridge stopped, the plugins gone; the history stays unless
    `purge`, which takes the data dir (but the venv this runs from) and the key too."""
    echo(autostart.manager(home).disable())
    stop(home)
    for place in plugins.uninstall(home):
        echo(f"removed {place}")
    if purge:
        forget_key(home)
    venv = Path(sys.prefix).resolve()
    for entry in sorted(home.iterdir()) if home.is_dir() else []:
        if entry.resolve() == venv or not (purge or entry.name in REMOVED):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:  # Windows: a program still holds a file there
            echo(f"could not remove {entry} ({exc.strerror}): remove it by hand")
    echo(
        f"removed aihd-bridge's data from {home}"
        if purge
        else f"removed aihd-bridge; the upload history stays in {home} (--purge removes it too)"
    )


def stop(home: Path) -> None:
    found = find_bridge(home)
    if found.pid is not None and not stop_bridge(home, found, STOP_TIMEOUT):
        raise SetupError(f"the running bridge (pid {found.pid}) did not stop in {STOP_TIMEOUT:.0f} s")
