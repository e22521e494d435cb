"""Finding and talking to a running bridge through `bridge.json` in the data dir.

bridge.json outlives a bridge killed with -9, and its port may then be held by any other
program. So a client believes the file only once the process on that port has proven that it
holds the file's token (`identity.py`); until then it sends neither the token nor any path.
A file whose process is gone, or whose port is refused or answered by a stranger, is removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .core.identity import new_nonce, proves
from .core.keystore import write_private

INFO_FILE = "bridge.json"
# Where `stop` asks a bridge to end without a signal (Windows has no SIGTERM to give a process
# without a console: os.kill there would end it at once, uploads under way or not).
STOP_FILE = "stop-request"


def info_path(home: Path) -> Path:
    return home / INFO_FILE


def write_info(home: Path, info: dict) -> Path:
    """Write bridge.json atomically with mode 0600: it holds the local token."""
    return write_private(info_path(home), json.dumps(info))


def read_info(home: Path) -> dict | None:
    try:
        info = json.loads(info_path(home).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and {"url", "token"} <= info.keys() else None


def remove_info(home: Path, pid: int) -> None:
    """Remove bridge.json if it is still ours (a newer bridge may have replaced it)."""
    info = read_info(home)
    if info and info.get("pid") == pid:
        info_path(home).unlink(missing_ok=True)


class BridgeError(Exception):
    pass


class LocalBridge:
    """A client of a running bridge's local API; made only for a bridge that proved itself."""

    def __init__(self, info: dict, timeout: float = 10):
        import requests  # here, not at the top: `serve` must not pay for it at start-up

        self.info, self.url, self.timeout = info, info["url"].rstrip("/"), timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {info['token']}"
        self._session.trust_env = False  # loopback only: never through a proxy

    def get(self, path: str, **params) -> dict:
        return self._call("get", path, params=params)

    def post(self, path: str, payload: dict | None = None) -> dict:
        return self._call("post", path, json=payload or {})

    def _call(self, method: str, path: str, **kw) -> dict:
        import requests

        try:
            resp = self._session.request(
                method, self.url + path, timeout=self.timeout, allow_redirects=False, **kw
            )
            data = resp.json() if _is_json(resp) else None
        except (requests.RequestException, ValueError) as exc:
            raise BridgeError(f"the bridge at {self.url} stopped answering ({type(exc).__name__})") from None
        if resp.status_code >= 400 or not isinstance(data, dict):
            raise BridgeError(
                data.get("error", resp.text)
                if isinstance(data, dict)
                else f"HTTP {resp.status_code} from {self.url}"
            )
        return data


def _is_json(resp) -> bool:
    return resp.headers.get("Content-Type", "").startswith("application/json")


@dataclass
class Found:
    """What bridge.json leads to: a bridge that proved itself, or why there is none to talk
    to. `pid` is set only when that process is known to be the bridge (it may be signalled)."""

    bridge: LocalBridge | None = None
    pid: int | None = None
    note: str | None = None


def find_bridge(home: Path, timeout: float = 2) -> Found:
    info = read_info(home)
    if info is None:
        return Found()
    pid, url = info.get("pid"), str(info["url"]).rstrip("/")
    if not isinstance(pid, int) or urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        return _stale(home, info, f"{INFO_FILE} was damaged")
    if not pid_alive(pid):
        return _stale(home, info, f"the bridge that wrote {INFO_FILE} (pid {pid}) is gone")
    import requests

    nonce = new_nonce()
    try:
        with requests.Session() as bare:  # no token here: the peer has not proven anything yet
            bare.trust_env = False
            resp = bare.get(
                url + "/v1/identity", params={"nonce": nonce}, timeout=timeout, allow_redirects=False
            )
        answer, status = (resp.json() if _is_json(resp) else None), resp.status_code
    except requests.Timeout:
        return Found(note=f"the bridge at {url} (pid {pid}) does not answer")
    except requests.ConnectionError:
        return _stale(home, info, f"nothing answers at {url}")
    except (requests.RequestException, ValueError):
        answer, status = None, None
    if proves(answer, info["token"], nonce) == pid:
        return Found(LocalBridge(info), pid)
    if status == 401 and runs_bridge(pid):  # a bridge from before /v1/identity asks for the token
        return Found(
            pid=pid,
            note=f"an earlier bridge (pid {pid}) runs at {url} and cannot "
            "prove who it is; restart it: aihd-bridge stop, then aihd-bridge serve",
        )
    return _stale(home, info, f"another program answers at {url}; it is not the bridge")


def running_bridge(home: Path, timeout: float = 2) -> LocalBridge | None:
    """The bridge serving this data dir, if one proves it is there."""
    return find_bridge(home, timeout).bridge


def _stale(home: Path, info: dict, why: str) -> Found:
    """Remove bridge.json if it still is the one read (a new bridge may have replaced it)."""
    if read_info(home) == info:
        info_path(home).unlink(missing_ok=True)
    return Found(note=f"{why}: removed the stale {INFO_FILE}")


def ask_to_stop(home: Path, pid: int) -> None:
    write_private(home / STOP_FILE, str(pid))


def stop_asked(home: Path, pid: int) -> bool:
    """Whether `stop` asked the bridge `pid` to end (the request is used up)."""
    try:
        asked = (home / STOP_FILE).read_text("utf-8").strip() == str(pid)
    except OSError:
        return False
    if asked:
        (home / STOP_FILE).unlink(missing_ok=True)
    return asked


def stop_bridge(home: Path, found: Found, timeout: float, signals: bool = os.name == "posix") -> bool:
    """End the bridge `found` proved to be (SIGTERM, or a stop request where there are no
    signals) and wait until its process is gone; False when it was still there at `timeout`."""
    if found.pid is None:  # never signal a process that has not proven it is the bridge
        return True
    if signals:
        import signal

        os.kill(found.pid, signal.SIGTERM)
    else:
        ask_to_stop(home, found.pid)
    deadline = time.monotonic() + timeout
    while pid_alive(found.pid):  # until the process is gone: it closes its database after the port
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]  # Windows only
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: someone else's, but alive
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runs_bridge(pid: int) -> bool:
    """Whether `pid` is this user's `aihd-bridge serve` (or `python -m bridge serve`), by its
    command line: the one proof an earlier bridge, without /v1/identity, can give."""
    try:
        if sys.platform.startswith("linux"):
            if os.stat(f"/proc/{pid}").st_uid != os.getuid():
                return False
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        elif os.name == "posix":
            out = subprocess.run(
                ["ps", "-o", "uid=,command=", "-p", str(pid)], capture_output=True, text=True, timeout=5
            ).stdout.split()
            if not out or out[0] != str(os.getuid()):
                return False
            args = out[1:]
        else:
            return False
    except (OSError, subprocess.SubprocessError):
        return False
    names = [Path(a).name for a in args]
    return "serve" in names and ("aihd-bridge" in names or ("-m" in names and "bridge" in names))
