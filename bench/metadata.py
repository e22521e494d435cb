"""Metadata: read_metadata over the 23 samples against ExifTool over the same files."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, median_time, row

SAMPLES = ROOT / "tests" / "samples"
OURS = """
import sys, time
from pathlib import Path
from bridge.photo.metadata.reader import read_metadata_counted
for p in sys.argv[1:]:
    read_metadata_counted(Path(p))
"""


def ensure_exiftool() -> str | None:
    if shutil.which("exiftool"):
        return "exiftool"
    if shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "libimage-exiftool-perl"], capture_output=True)
    return "exiftool" if shutil.which("exiftool") else None


def measure(_work: Path) -> list[dict]:
    files = sorted(p for p in SAMPLES.glob("*") if p.suffix not in (".md", ".json"))
    if not files:
        return [{"name": "metadata", "skipped": f"no samples at {SAMPLES}"}]
    exiftool = ensure_exiftool()
    if exiftool is None:
        return [
            {
                "name": "metadata vs ExifTool",
                "skipped": "exiftool is not installed and apt-get could not install libimage-exiftool-perl",
            }
        ]
    names = [str(p) for p in files]
    theirs = median_time(
        lambda: subprocess.run([exiftool, "-j", "-n", *names], check=True, capture_output=True), runs=5
    )
    ours = median_time(
        lambda: subprocess.run(
            [sys.executable, "-c", OURS, *names], cwd=ROOT, check=True, capture_output=True
        ),
        runs=5,
    )
    sys.path.insert(0, str(ROOT))
    from bridge.photo.metadata.reader import read_metadata_counted

    per_file, read_share = [], []
    for path in files:
        started = time.perf_counter()
        _, bytes_read = read_metadata_counted(path)
        per_file.append(time.perf_counter() - started)
        read_share.append(bytes_read / path.stat().st_size)
    result = row(
        f"metadata: {len(files)} samples, one process each", "exiftool -j -n", theirs, ours, ("<", 0.2)
    )
    result["median_ms_per_file"] = statistics.median(per_file) * 1000
    result["median_bytes_read_share"] = statistics.median(read_share)
    return [result]
