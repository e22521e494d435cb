"""Settings: environment > config file > defaults, read once into a frozen object.

Nothing here runs at import time; callers build a `Settings` with `load_settings()`
and pass it down.
"""

from __future__ import annotations

import dataclasses
import os
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

    @property
    def sandbox(self) -> bool:
        """Without a key the bridge talks to its embedded sandbox, never to the real API."""
        return not self.api_key

    @property
    def upload_url(self) -> str:
        return self.api_url.rstrip("/") + "/v1/order/image"

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


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
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:  # its message names the line and column
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    for key, value in data.items():
        expected = _FILE_KEYS.get(key)
        if expected is None:
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {', '.join(_FILE_KEYS)})")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{path}: {key} has the wrong type ({type(value).__name__})")
    return data
