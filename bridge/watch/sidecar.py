"""`<photo>.aihd.json` beside each photo of a watched folder: its order id, state and results,
written whole or not at all (a temporary hidden name, then a rename)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.replacing import replace
from .names import SIDECAR_SUFFIX


def sidecar_of(photo: Path) -> Path:
    return photo.with_name(photo.name + SIDECAR_SUFFIX)


def record(item: Mapping[str, Any], name: str, *, submit: bool, results_dir: Path | None) -> dict:
    """What the sidecar of the photo `name` says of its item (as `Store.changes` gives it)."""
    return {
        "file": name,
        "state": item["state"],
        "order_id": item["order_id"],
        "service_name": item["service_name"],
        "service_reason": item["service_reason"],
        "error": item["last_error"] if item["state"] != "done" else None,
        "waiting_until": item["waiting_until"],
        "notes": item["notes"],
        "submit": submit,
        "results_dir": str(results_dir) if results_dir else None,
        "order_state": item.get("order_state"),
        "order_error": item.get("order_error"),
        "results": [r["path"] for r in item.get("results") or []],
        "item_id": item["id"],
        "batch_id": item["batch_id"],
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "by": f"aihd-bridge {__version__}",
    }


def write_sidecar(photo: Path, content: dict) -> Path:
    """Write the sidecar of `photo` atomically: readers see the old one or the new one."""
    target = sidecar_of(photo)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(content, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.chmod(temp, _mode_of(photo))
        replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _mode_of(photo: Path) -> int:
    """The photo's own permissions (the bridge's umask would make it private to this user)."""
    try:
        return photo.stat().st_mode & 0o666
    except OSError:
        return 0o600
