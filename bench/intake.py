"""Intake: POST /v1/uploads of 500 paths until the 202, against cp of the same files."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from .common import Bridge, make_files, row

COUNT, SIZE = 500, 4_000_000  # a 4 MB JPEG is a small real-estate photo


def measure(work: Path) -> list[dict]:
    files = make_files(work / "intake", COUNT, SIZE, "in")
    target = work / "intake-cp"
    copies = []
    for _ in range(3):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        started = time.perf_counter()
        subprocess.run(["cp", *map(str, files), str(target)], check=True)
        copies.append(time.perf_counter() - started)
    bridge = Bridge(work / "bridge-intake", "http://127.0.0.1:9", workers=1, max_attempts=1)
    try:
        bridge.start()
        started = time.perf_counter()
        resp = bridge.http.post(
            bridge.url + "/v1/uploads",
            json={"items": [{"path": str(p)} for p in files], "service_name": "service-day-to-dusk"},
        )
        ours = time.perf_counter() - started
        resp.raise_for_status()
        bridge.http.post(f"{bridge.url}/v1/batches/{resp.json()['batch_id']}/cancel")
    finally:
        bridge.stop()
    shutil.rmtree(target, ignore_errors=True)
    return [
        row(
            f"intake: {COUNT} paths of {SIZE // 1_000_000} MB to the 202",
            "cp of the same files",
            min(copies),
            ours,
            ("<", 0.1),
        )
    ]
