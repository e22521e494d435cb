"""Result downloads: the bridge's downloader (resumable, checked, hashed, synced, renamed into
place) against `curl -o`, over the same files from the same local server."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from bridge.remote.download import fetch, place

from .common import make_files, receiver, row

CASES = (("20 x 20 MB", 20, 20_000_000, ("<=", 1.10)), ("100 x 1 MB", 100, 1_000_000, None))


def curl_all(url: str, names: list[str], out: Path) -> float:
    started = time.perf_counter()
    for name in names:
        subprocess.run(["curl", "-sS", "--fail", "-o", str(out / name), f"{url}/{name}"], check=True)
    return time.perf_counter() - started


def bridge_all(url: str, names: list[str], out: Path) -> float:
    import requests

    session = requests.Session()
    session.trust_env = False
    started = time.perf_counter()
    for name in names:
        stem = Path(name).stem
        fetched = fetch(session, f"{url}/{name}", out / f".{stem}.part", (10.0, 60.0))
        place(fetched, out, stem)
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def measure(work: Path) -> list[dict]:
    rows = []
    for label, count, size, goal in CASES:
        served = work / f"served-{count}"
        names = [p.name for p in make_files(served, count, size, "result")]
        with receiver(serve=served) as url:
            times = {"curl": [], "bridge": []}
            for _ in range(3):  # alternate, keep the best of three: the page cache warms once
                for who, run in (("curl", curl_all), ("bridge", bridge_all)):
                    out = work / f"{who}-{count}"
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                    times[who].append(run(url, names, out))
        shutil.rmtree(served, ignore_errors=True)
        rows.append(
            row(
                f"result download {label}",
                "curl -o, one by one",
                min(times["curl"]),
                min(times["bridge"]),
                goal,
            )
        )
    return rows
