"""Memory: the bridge's peak RSS while 4 uploads of 50 MB files run at once, minus its idle RSS."""

from __future__ import annotations

from pathlib import Path

from .common import Bridge, make_files, receiver, row

MB = 1_000_000


def measure(work: Path) -> list[dict]:
    big = make_files(work / "mem", 4, 49 * MB, "big")
    warm = make_files(work / "mem-warm", 1, 1 * MB, "warm")
    with receiver(latency=1.0) as url:  # long enough that all four are under way together
        bridge = Bridge(work / "bridge-mem", url, workers=4)
        try:
            bridge.start()
            bridge.run_batch(warm)  # imports, threads and connections in place: that is idle
            idle = bridge.memory("VmRSS")
            bridge.run_batch(big)
            peak = bridge.memory("VmHWM")
        finally:
            bridge.stop()
    grew = (peak - idle) / MB
    result = row("memory: 4 x 49 MB uploads at once", "idle RSS (MB)", idle / MB, grew, None, "MB")
    result.update(ratio=None, goal="< 30 MB", met=grew < 30)
    return [result]
