"""python -m bench [--only NAME ...] : run the benchmarks, print a table, write JSON.

Every figure is a ratio against a baseline measured in the same run on the same machine."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from . import download, export_scale, intake, lua_poll, memory, metadata, startup, upload
from .common import ROOT, make_files

SUITES = {
    "upload": None,
    "memory": memory.measure,
    "metadata": metadata.measure,
    "startup": startup.measure,
    "intake": intake.measure,
    "export-scale": export_scale.measure,
    "download": download.measure,
    "lua-poll": lua_poll.measure,
}


def machine() -> str:
    cpus = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {cpus} cores, {mem:.0f} GiB"
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| benchmark | baseline | baseline | bridge | ratio | goal | met |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['name']} | skipped: {r['skipped']} | | | | | |")
            continue
        unit = r["unit"]
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        lines.append(
            f"| {r['name']} | {r['baseline']} | {r['baseline_value']:.3f} {unit} | "
            f"{r['measured']:.3f} {unit} | {ratio} | {r['goal']} | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=list(SUITES), help="run just these")
    args = parser.parse_args()
    chosen = args.only or list(SUITES)
    work = Path(tempfile.mkdtemp(prefix="aihd-bench-"))
    rows, started = [], time.perf_counter()
    try:
        for name in chosen:
            print(f"== {name}", flush=True)
            if name == "upload":
                files = {
                    "20 x 20 MB": make_files(work / "big", 20, 20_000_000, "big"),
                    "200 x 1 MB": make_files(work / "small", 200, 1_000_000, "small"),
                }
                rows += upload.measure(work, files)
            else:
                rows += SUITES[name](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "seconds": time.perf_counter() - started,
        "results": rows,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\n{report['date']}, {report['machine']}, {report['seconds']:.0f} s\n")
    print(table(rows))


if __name__ == "__main__":
    main()
