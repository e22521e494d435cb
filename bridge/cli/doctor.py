"""`aihd-bridge doctor`: one line per check, each failed check with its fix."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from ..core.config import Settings

MIN_FREE_BYTES = 1_000_000_000  # a few dozen 50 MB photos in the spool


@dataclass
class Check:
    name: str
    status: str  # "ok", "warn" or "fail"
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def run_checks(settings: Settings, *, online: bool = False) -> list[Check]:
    from ..core.keystore import find_key
    from ..discovery import BridgeError, find_bridge
    from ..setup.autostart import manager

    checks = [
        Check(
            "python",
            "ok" if sys.version_info >= (3, 11) else "fail",
            sys.version.split()[0],
            "install Python 3.11 or newer",
        )
    ]
    on_path = shutil.which("aihd-bridge")
    checks.append(
        Check(
            "install",
            "ok" if on_path else "warn",
            f"aihd-bridge {__version__}" + (f" at {on_path}" if on_path else " (not on PATH)"),
            None if on_path else 'add ~/.local/bin to PATH: export PATH="$HOME/.local/bin:$PATH"',
        )
    )
    key = find_key(settings.home, os.environ)
    if key.problem:
        checks.append(Check("api key", "fail", key.problem, "aihd-bridge config set-key"))
    elif key.key:
        checks.append(Check("api key", "ok", f"set (from {key.source})"))
        if online:
            checks.append(_online_check(settings))
    else:
        checks.append(
            Check(
                "api key",
                "warn",
                "none: uploads go to the embedded sandbox",
                "aihd-bridge config set-key (then the bridge orders for real)",
            )
        )
    found = find_bridge(settings.home)
    try:
        health = found.bridge.get("/v1/health") if found.bridge else None
    except BridgeError as exc:
        health, found.note = None, str(exc)
    bridge = found.bridge
    if health is not None and bridge is not None:
        checks.append(
            Check(
                "bridge",
                "ok",
                f"running at {bridge.url}, {health['mode']} mode, "
                f"queue {health['queue']['queued']} queued, "
                f"{health['queue']['failed']} failed",
            )
        )
        if health.get("rules_problem"):
            checks.append(Check("rules", "warn", health["rules_problem"], "fix presets.toml in the data dir"))
        checks.append(Check("port", "ok", f"{bridge.info.get('port')} is the bridge's"))
    else:
        checks.append(
            Check(
                "bridge",
                "fail",
                "not running" + (f" ({found.note})" if found.note else ""),
                "aihd-bridge serve (or aihd-bridge autostart enable)",
            )
        )
        checks.append(_port_check(settings.port))
    status = manager(settings.home).status()
    checks.append(
        Check(
            "autostart",
            "ok" if status.enabled else "warn",
            status.detail,
            None if status.enabled else "aihd-bridge autostart enable",
        )
    )
    checks.append(_plugin_check())
    checks.append(_disk_check(settings.home))
    checks.append(
        Check(
            "mode",
            "ok",
            "sandbox: nothing reaches AI HomeDesign"
            if settings.sandbox
            else f"live: orders go to {settings.api_url}",
        )
    )
    return checks


# What `--online` asks, by version: an authenticated GET that orders nothing. v3 is asked first
# (as the vendor's own MCP server checks a key); a 404 there means the API speaks v1.
_KEY_CHECKS = (
    ("v3", "/v3/project", {"page": 1, "limit": 1}),
    ("v1", "/v1/catalog/spaces", {"service_name": "service-ai-virtual-staging", "active": "true"}),
)


def _online_check(settings: Settings) -> Check:
    """Ask the API whether it takes the key, without ordering anything. Redirects are never
    followed: that would hand the key to whichever host the answer names."""
    import requests

    for version, path, params in _KEY_CHECKS:
        if settings.api_version not in ("auto", version):
            continue
        try:
            resp = requests.get(
                settings.api_url.rstrip("/") + path,
                params=params,
                headers={"x-api-key": settings.api_key or "", "Accept": "application/json"},
                timeout=15,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return Check(
                "api key online",
                "fail",
                f"could not reach {settings.api_url} ({type(exc).__name__})",
                "check the network or AIHD_API_URL",
            )
        status = resp.status_code
        if status == 404 and settings.api_version == "auto":
            continue  # no such route: the other version's
        if 300 <= status < 400:
            where = urlsplit(resp.headers.get("Location", "")).netloc or "elsewhere"
            return Check(
                "api key online",
                "fail",
                f"{settings.api_url} redirects (HTTP {status}) to {where}; the key was not "
                "sent there, so it is not known whether it is accepted",
                "set AIHD_API_URL to the API itself (https://api.aihomedesign.com)",
            )
        if status in (401, 403):
            return Check(
                "api key online",
                "fail",
                f"the API refused the key (HTTP {status})",
                "aihd-bridge config set-key with the key from your AI HomeDesign account",
            )
        if 200 <= status < 300:
            return Check("api key online", "ok", f"accepted by {settings.api_url}, which speaks {version}")
        return Check(
            "api key online",
            "warn",
            f"{settings.api_url} answered HTTP {status}, so it is not known whether it accepts the key",
            "run the check again later, or check AIHD_API_URL",
        )
    return Check(
        "api key online",
        "warn",
        f"{settings.api_url} has neither the v3 nor the v1 routes (HTTP 404)",
        "check AIHD_API_URL: it should be https://api.aihomedesign.com",
    )


def _port_check(port: int) -> Check:
    with socket.socket() as sock:
        # As waitress does: a port left in TIME_WAIT by a bridge that just stopped is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return Check(
                    "port",
                    "warn",
                    f"{port} is used by another program: the bridge will serve on a free port instead",
                    "set AIHD_PORT to a free port to have a fixed one",
                )
            raise
    return Check("port", "ok", f"{port} is free for the bridge")


def _plugin_check() -> Check:
    from ..setup.plugins import installed, lightroom_dir

    place = installed()
    if place:
        return Check("lightroom plugin", "ok", f"installed in {place}")
    folder = lightroom_dir()
    if folder is None or not folder.is_dir():
        return Check(
            "lightroom plugin",
            "warn",
            "Lightroom Classic not found on this machine",
            "add host-plugin/aihomedesign.lrplugin in Lightroom's Plug-in Manager",
        )
    return Check("lightroom plugin", "fail", "not in Lightroom's Modules folder", "./install.sh")


def _disk_check(home: Path) -> Check:
    home.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(home).free
    ok = free >= MIN_FREE_BYTES
    return Check(
        "disk",
        "ok" if ok else "fail",
        f"{free / 1e9:.1f} GB free for the spool in {home}",
        None if ok else "free some disk space: the spool holds each photo until it is sent",
    )
