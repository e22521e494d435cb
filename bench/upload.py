"""The upload path: the bridge against curl, over the same files, to the same receiver."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .common import KEY, Bridge, receiver, row


def curl_one_by_one(url: str, paths: list[Path]) -> None:
    for path in paths:
        subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "--fail",
                "-H",
                f"x-api-key: {KEY}",
                "-F",
                f"image=@{path};type=image/jpeg",
                "-F",
                "service_name=service-image-enhancement",
                url + "/v1/order/image",
            ],
            check=True,
        )


def bridge_time(work: Path, url: str, paths: list[Path], workers: int) -> float:
    bridge = Bridge(work / f"bridge-{workers}w-{len(paths)}", url, workers=workers)
    try:
        bridge.start()
        return bridge.run_batch(paths)
    finally:
        bridge.stop()


# (files, workers, added latency, goal): the issue sets goals for the big files with one
# worker and for the default workers against a slow endpoint; the rest is for information.
CASES = (
    ("20 x 20 MB", 1, 0.0, ("<=", 1.10)),
    ("20 x 20 MB", 3, 0.2, ("<", 0.6)),
    ("200 x 1 MB", 1, 0.0, None),
    ("200 x 1 MB", 3, 0.2, ("<", 0.6)),
)


def measure(work: Path, files: dict[str, list[Path]]) -> list[dict]:
    rows = []
    for name, workers, latency, goal in CASES:
        paths = files[name]
        with receiver(latency) as url:
            started = time.perf_counter()
            curl_one_by_one(url, paths)
            curl = time.perf_counter() - started
            ours = bridge_time(work, url, paths, workers)
        rows.append(
            row(
                f"upload {name}, {workers} worker{'s' if workers > 1 else ''}"
                + (f", +{int(latency * 1000)} ms per request" if latency else ""),
                "curl -F, one by one",
                curl,
                ours,
                goal,
            )
        )
    return rows
