"""What every benchmark needs: files, a receiver, a bridge in a subprocess, a stopwatch."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"


def make_files(folder: Path, count: int, size: int, prefix: str) -> list[Path]:
    """Distinct files shaped like a camera JPEG (start of image, a scan, the end marker)
    with random image data, so that the bridge's checks do what they do on real exports."""
    folder.mkdir(parents=True, exist_ok=True)
    head = b"\xff\xd8" + b"\xff\xda\x00\x0c" + bytes(10)
    paths = []
    for n in range(count):
        path = folder / f"{prefix}-{n:04d}.jpg"
        with path.open("wb") as fh:
            fh.write(head)
            left = size - len(head) - 2
            while left > 0:
                block = os.urandom(min(left, 1 << 20))
                fh.write(block)
                left -= len(block)
            fh.write(b"\xff\xd9")
        paths.append(path)
    return paths


@contextmanager
def receiver(latency: float = 0.0, serve: Path | None = None):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.receiver", "--latency", str(latency)]
        + (["--serve", str(serve)] if serve else []),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


class Bridge:
    def __init__(self, home: Path, api_url: str | None, **config):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        config.setdefault("api_version", "v1")  # the receiver answers uploads as v1 does: an order id
        (home / "config.toml").write_text("".join(f"{k} = {v!r}\n" for k, v in config.items()))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIHD_")}
        self.env.update(AIHD_HOME=str(home), AIHD_PORT="0", PYTHONPATH=str(ROOT))
        if api_url:
            self.env.update(AIHD_API_URL=api_url, AIHD_API_KEY=KEY)
        self.proc = None

    def start(self) -> float:
        """Start `aihd-bridge serve`; returns seconds from exec to a 200 on /v1/health."""
        info = self.home / "bridge.json"
        info.unlink(missing_ok=True)
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        session = requests.Session()
        session.trust_env = False
        while True:
            if info.exists():
                try:
                    data = json.loads(info.read_text())
                    if session.get(data["url"] + "/v1/health", timeout=1).status_code == 200:
                        break
                except (ValueError, KeyError, requests.RequestException):
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError("the bridge did not start")
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        self.url = data["url"]
        self.http = session
        self.http.headers["Authorization"] = f"Bearer {data['token']}"
        return elapsed

    def run_batch(self, paths: list[Path], poll: float = 0.01) -> float:
        """Hand the files over and wait until all are done; returns the seconds it took."""
        started = time.perf_counter()
        resp = self.http.post(
            self.url + "/v1/uploads",
            json={"items": [{"path": str(p)} for p in paths], "service_name": "service-image-enhancement"},
        )
        resp.raise_for_status()
        batch_id = resp.json()["batch_id"]
        while True:
            batch = self.http.get(f"{self.url}/v1/batches/{batch_id}").json()
            if batch["finished"]:
                break
            time.sleep(poll)
        elapsed = time.perf_counter() - started
        if batch["counts"]["done"] != len(paths):
            raise RuntimeError(f"benchmark batch did not complete: {batch['counts']}")
        return elapsed

    def cpu_seconds(self) -> float:
        """User and system CPU time the bridge process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory(self, field: str) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} for pid {self.proc.pid}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)


def median_time(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def row(
    name: str,
    baseline: str,
    baseline_value: float,
    measured: float,
    goal: tuple[str, float] | None,
    unit: str = "s",
) -> dict:
    ratio = measured / baseline_value if baseline_value else float("inf")
    met = None if goal is None else (ratio <= goal[1] if goal[0] == "<=" else ratio < goal[1])
    return {
        "name": name,
        "baseline": baseline,
        "baseline_value": baseline_value,
        "measured": measured,
        "unit": unit,
        "ratio": ratio,
        "goal": f"{goal[0]} {goal[1]}" if goal else "-",
        "met": met,
    }
