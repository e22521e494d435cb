"""Export scale: the bridge's CPU time per photo for an export of 2,000 photos against one of
200, handed over and followed the way the Lightroom plugin does it: one photo per hand-over
into one batch, a poll with the cursor after each hand-over and every second until the end.

With the cursor a poll answers only what changed, so a photo should cost the same in a big
export as in a small one. A second row does the same with full-batch polls (what the plugin
did before the cursor) to show what that costs.
The Lua side of the same promise (decoding a poll in Lightroom stays flat) is measured by the
plugin's own tests, not here.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .common import Bridge, make_files, receiver, row

COUNTS = (200, 2000)
SIZE = 50_000  # small files: what is measured is the bookkeeping, not the bytes
CLIENT = "lightroom:bench"


def measure(work: Path) -> list[dict]:
    per_photo = {}
    with receiver() as url:
        for with_cursor in (True, False):
            for count in COUNTS:
                name = f"scale-{count}-{'cursor' if with_cursor else 'full'}"
                files = make_files(work / name, count, SIZE, "scale")
                bridge = Bridge(work / f"bridge-{name}", url, workers=3)
                try:
                    bridge.start()
                    per_photo[with_cursor, count] = _export(bridge, files, with_cursor) / count
                finally:
                    bridge.stop()
                    shutil.rmtree(work / name, ignore_errors=True)
    small, big = COUNTS
    return [
        row(
            f"export scale: bridge CPU per photo, {big:,} photos against {small:,} ({how})",
            f"{small:,} photos (ms per photo)",
            per_photo[cursor, small] * 1000,
            per_photo[cursor, big] * 1000,
            goal,
            unit="ms",
        )
        for cursor, how, goal in (
            (True, "hand-over, polls with the cursor", ("<=", 1.5)),
            (False, "polls of the whole batch, before the cursor", None),
        )
    ]


def _export(bridge: Bridge, files: list[Path], with_cursor: bool) -> float:
    """Run one export as the plugin would; the bridge's CPU seconds it took."""
    http, base = bridge.http, bridge.url
    started = bridge.cpu_seconds()
    batch_id, cursor, last_poll = None, None, time.monotonic()

    def poll() -> dict:
        nonlocal cursor, last_poll
        params = {} if cursor is None or not with_cursor else {"since": cursor}
        answer = http.get(f"{base}/v1/batches/{batch_id}", params=params).json()
        cursor, last_poll = answer["cursor"], time.monotonic()
        return answer

    for n, path in enumerate(files):
        body = {
            "items": [{"path": str(path), "source_id": f"photo-{n}"}],
            "client": CLIENT,
            "service_name": "service-image-enhancement",
        }
        if batch_id:
            body["batch_id"] = batch_id
        resp = http.post(base + "/v1/uploads", json=body)
        resp.raise_for_status()
        batch_id = resp.json()["batch_id"]
        poll()
    while not (answer := poll())["finished"]:
        time.sleep(max(0.0, 1.0 - (time.monotonic() - last_poll)))
    if answer["counts"]["done"] != len(files):
        raise RuntimeError(f"export-scale batch did not complete: {answer['counts']}")
    return bridge.cpu_seconds() - started
