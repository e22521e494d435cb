"""Where the API key lives: AIHD_API_KEY, else the OS keyring, else a 0600 file in the data dir.

The keyring is consulted only when `config set-key` put the key there (a marker file says
so), so that start-up does not pay for loading keyring backends on machines without one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .replacing import replace

SERVICE, USERNAME = "aihd-bridge", "api-key"
KEY_FILE = "api-key"
KEYRING_MARKER = "api-key.in-keyring"  # holds no secret: only says where the key is


@dataclass(frozen=True)
class KeyInfo:
    key: str | None = field(repr=False)
    source: str  # "AIHD_API_KEY", "keyring", "file" or "none"
    problem: str | None = None


def mask(key: str | None) -> str:
    if not key:
        return "(none)"
    return key[:3] + "…" + key[-2:] if len(key) > 12 else "…" * 3


def find_key(home: Path, env: Mapping[str, str]) -> KeyInfo:
    if env.get("AIHD_API_KEY", "").strip():
        return KeyInfo(env["AIHD_API_KEY"].strip(), "AIHD_API_KEY")
    if (home / KEYRING_MARKER).exists():
        try:
            import keyring

            key = keyring.get_password(SERVICE, USERNAME)
        except Exception as exc:  # any backend failure: locked keychain, no D-Bus ...
            return KeyInfo(None, "keyring", f"the keyring could not be read ({type(exc).__name__})")
        if key:
            return KeyInfo(key, "keyring")
    try:
        key = (home / KEY_FILE).read_text("utf-8").strip()
    except FileNotFoundError:
        return KeyInfo(None, "none")
    except OSError as exc:
        return KeyInfo(None, "file", f"{home / KEY_FILE} cannot be read ({exc.strerror})")
    return KeyInfo(key or None, "file" if key else "none")


def store_key(home: Path, key: str) -> tuple[str, str | None]:
    """Store the key; returns where ("keyring" or the file's path) and a warning, if any."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        import keyring

        keyring.set_password(SERVICE, USERNAME, key)
        if keyring.get_password(SERVICE, USERNAME) != key:
            raise RuntimeError("the keyring did not keep it")
    except Exception as exc:
        (home / KEYRING_MARKER).unlink(missing_ok=True)
        path = write_private(home / KEY_FILE, key + "\n")
        return str(path), (
            f"no usable OS keyring here ({type(exc).__name__}): the key is in {path}, readable only by you"
        )
    (home / KEYRING_MARKER).write_text("the API key is in the OS keyring\n", "utf-8")
    (home / KEY_FILE).unlink(missing_ok=True)
    return "keyring", None


def forget_key(home: Path) -> None:
    if (home / KEYRING_MARKER).exists():
        try:
            import keyring

            keyring.delete_password(SERVICE, USERNAME)
        except Exception:
            pass  # nothing there, or no keyring: either way it is gone from our side
    (home / KEYRING_MARKER).unlink(missing_ok=True)
    (home / KEY_FILE).unlink(missing_ok=True)


def write_private(path: Path, text: str) -> Path:
    """Write a file only its owner can read, created with that mode (no window at 0644)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    replace(tmp, path)
    return path
