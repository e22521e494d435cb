"""Settings: environment > config file > defaults, read once into a frozen object.

Nothing here runs at import time; callers build a `Settings` with `load_settings()`
and pass it down.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .keystore import find_key

DEFAULT_API_URL = "https://api.aihomedesign.com"
DEFAULT_PORT = 47311
DEFAULT_MAX_UPLOAD_BYTES = 50_000_000
CONFIG_FILE = "config.toml"


class ConfigError(Exception):
    """The config file or an environment variable holds something unusable."""


@dataclass(frozen=True)
class WatchEntry:
    """A folder the bridge watches: each photo that lands in it is sent once (`bridge/watch/`)."""

    dir: Path
    service: str | None = None  # as the user wrote it; checked against the services when it starts
    preset: str | None = None
    submit: bool = False  # handed on with each item for the order lifecycle (submit after upload)
    results: Path | None = None  # where results go once the order lifecycle fetches them
    move_done: bool = False  # move each photo and its .aihd.json into done/ once it has an order id
    poll: bool = False  # look every second instead of waiting for events (network shares)
    project: str | None = None  # the property; None: each photo's folder (see watch/names.py)
    line: int = 0  # its [[watch]] line in config.toml, for messages; 0 when not from the file


@dataclass(frozen=True)
class Settings:
    home: Path
    api_key: str | None = field(default=None, repr=False)  # never in reprs or logs
    api_url: str = DEFAULT_API_URL
    port: int = DEFAULT_PORT
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    convert_heic: bool = True
    workers: int = 3
    max_attempts: int = 8
    retry_base: float = 2.0  # seconds before the second try; doubles each time
    rate_limit_wait: float = 60.0  # after a 429 without Retry-After (10 orders / 10 minutes)
    probe_max_wait: float = 120.0  # longest wait between tries while the API is out of reach
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    poll_interval: float = 5.0  # seconds between looks at an order, at least (then backing off)
    order_timeout: float = 86400.0  # give up on an order with no result after this long
    results_dir: str | None = None  # where results go; None: results/ in the data dir
    api_version: str = "auto"  # "auto" (asked of the API once per key), "v3" or "v1"
    submit_limit: int = 10  # the API takes at most this many submits ...
    submit_window: float = 600.0  # ... per this many seconds, sliding (10 per 10 minutes)
    watches: tuple[WatchEntry, ...] = ()

    @property
    def sandbox(self) -> bool:
        """Without a key the bridge talks to its embedded sandbox, never to the real API."""
        return not self.api_key

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


API_VERSIONS = ("auto", "v3", "v1")

# Keys a user may put in config.toml, with the type each must have.
_FILE_KEYS: dict[str, type | tuple[type, ...]] = {
    "api_url": str,
    "port": int,
    "max_upload_bytes": int,
    "convert_heic": bool,
    "workers": int,
    "max_attempts": int,
    "retry_base": (int, float),
    "rate_limit_wait": (int, float),
    "probe_max_wait": (int, float),
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "poll_interval": (int, float),
    "order_timeout": (int, float),
    "results_dir": str,
    "api_version": str,
    "submit_limit": int,
    "submit_window": (int, float),
}


def default_home() -> Path:
    import platformdirs  # imported late: only needed when AIHD_HOME is unset

    return Path(platformdirs.user_data_dir("aihd-bridge", appauthor=False))


def load_settings(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    env = os.environ if env is None else env
    home = Path(env["AIHD_HOME"]).expanduser() if env.get("AIHD_HOME") else default_home()
    values: dict = dict(_read_config_file(home / CONFIG_FILE))
    if env.get("AIHD_API_URL"):
        values["api_url"] = env["AIHD_API_URL"]
    if env.get("AIHD_PORT"):
        values["port"] = _parse_port(env["AIHD_PORT"])
    if env.get("AIHD_API_VERSION"):
        if env["AIHD_API_VERSION"] not in API_VERSIONS:
            raise ConfigError(f"AIHD_API_VERSION must be one of {', '.join(API_VERSIONS)}")
        values["api_version"] = env["AIHD_API_VERSION"]
    values["api_key"] = find_key(home, env).key
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(home=home, **values)


def _parse_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"AIHD_PORT must be a port number, not {text!r}")
    return port


def _read_config_file(path: Path) -> dict:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    return parse_config(text, str(path))


def parse_config(text: str, where: str) -> dict:
    """The settings a config.toml text holds, checked (`watches` always among them)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message names the line and column
        raise ConfigError(f"{where}: {exc}") from None
    watches = watch_entries(data.pop("watch"), text, where) if "watch" in data else ()
    for key, value in data.items():
        expected = _FILE_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{where}: unknown setting {key!r} (known: {', '.join(_FILE_KEYS)}, and [[watch]] tables)"
            )
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} has the wrong type ({type(value).__name__})")
    if data.get("api_version", "auto") not in API_VERSIONS:
        raise ConfigError(f"{where}: api_version must be one of {', '.join(API_VERSIONS)}")
    return data | {"watches": watches}


_WATCH_KEYS: dict[str, type] = {
    "dir": str,
    "service": str,
    "preset": str,
    "submit": bool,
    "results": str,
    "move_done": bool,
    "poll": bool,
    "project": str,
}
WATCH_HEADER = r"\[\[\s*watch\s*\]\]"


def watch_entries(data: object, text: str, where: str) -> tuple[WatchEntry, ...]:
    """The [[watch]] tables of config.toml, checked; errors name the line and column."""
    if not isinstance(data, list) or not all(isinstance(body, dict) for body in data):
        raise ConfigError(f"{where}: write each watched folder as a [[watch]] table with a dir")
    entries: list[WatchEntry] = []
    for n, body in enumerate(data):
        line = line_of(text, WATCH_HEADER, n)

        def fail(problem: str, key: str | None = None, line=line, n=n) -> ConfigError:
            if not line:  # written as an inline array: tomllib keeps no position of it
                return ConfigError(f"{where}: watch entry {n + 1} {problem}")
            row, column = key_position(text, line, key) if key else (line, 1)
            return ConfigError(f"{where}: [[watch]] {problem} (at line {row}, column {column})")

        for key, value in body.items():
            expected = _WATCH_KEYS.get(key)
            if expected is None:
                raise fail(f"has an unknown key {key!r} (known: {', '.join(_WATCH_KEYS)})", key)
            if not isinstance(value, expected):
                raise fail(f"{key} must be {'true or false' if expected is bool else 'text'}", key)
        if "dir" not in body:
            raise fail("needs a dir: the folder to watch")
        if "service" in body and "preset" in body:
            raise fail("takes a service or a preset, not both", "preset")
        paths = {}
        for key in ("dir", "results"):
            if key in body:
                paths[key] = Path(os.path.normpath(os.path.expanduser(body[key])))
                if not paths[key].is_absolute():
                    raise fail(f"{key} must be an absolute path (or start with ~)", key)
        twin = next((e for e in entries if e.dir == paths["dir"]), None)
        if twin is not None:
            raise fail(f"watches {paths['dir']} again (also at line {twin.line})", "dir")
        entries.append(
            WatchEntry(
                dir=paths["dir"],
                service=body.get("service"),
                preset=body.get("preset"),
                submit=body.get("submit", False),
                results=paths.get("results"),
                move_done=body.get("move_done", False),
                poll=body.get("poll", False),
                project=body.get("project") or None,
                line=line,
            )
        )
    return tuple(entries)


def line_of(text: str, pattern: str, nth: int = 0) -> int:
    """The line where the nth match of a table header stands (tomllib reports no lines
    for well-formed but wrong values, and users need one); 0 when it is not found."""
    for i, match in enumerate(re.finditer(r"(?m)^[ \t]*" + pattern, text)):
        if i == nth:
            return text.count("\n", 0, match.start()) + 1
    return 0


def key_position(text: str, header_line: int, key: str) -> tuple[int, int]:
    """(line, column) of `key = ...` in the table whose header is on `header_line`."""
    lines = text.splitlines()
    for row in range(header_line, len(lines)):  # the lines after the header, 0-based
        if re.match(r"[ \t]*\[", lines[row]):
            break
        match = re.match(rf"([ \t]*)(\"?){re.escape(key)}\2[ \t]*=", lines[row])
        if match:
            return row + 1, len(match.group(1)) + 1
    return header_line, 1
