"""Start-up: `aihd-bridge serve` from exec to a 200 on /v1/health, against importing flask and
waitress alone."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from .common import Bridge, row


def measure(work: Path) -> list[dict]:
    baseline, ours = [], []
    for n in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import flask, waitress"], check=True)
        baseline.append(time.perf_counter() - started)
        bridge = Bridge(work / f"bridge-start-{n}", None)
        try:
            ours.append(bridge.start())
        finally:
            bridge.stop()
    return [
        row(
            "start-up: serve to first 200 on /v1/health",
            'python -c "import flask, waitress"',
            statistics.median(baseline),
            statistics.median(ours),
            ("<=", 1.5),
        )
    ]
