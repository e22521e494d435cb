"""python -m bench [--only NAME ...] [--write-docs] : run the benchmarks, print a table, write JSON.

Every figure is a ratio against a baseline measured in the same run on the same machine.
`--write-docs` (a full run only) also puts the table into docs/performance.md."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from . import download, export_scale, intake, lua_poll, memory, metadata, startup, upload
from .common import ROOT, make_files
from .doc_tables import DOCS, machine, now, write_between

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
    parser.add_argument(
        "--write-docs", action="store_true", help="put the table into docs/performance.md (a full run only)"
    )
    args = parser.parse_args()
    if args.write_docs and args.only:
        parser.error("--write-docs needs a full run: the page's table holds every benchmark")
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
        "date": now(),
        "machine": machine(),
        "seconds": time.perf_counter() - started,
        "results": rows,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\n{report['date']}, {report['machine']}, {report['seconds']:.0f} s\n")
    print(table(rows))
    if args.write_docs:
        page = DOCS / "performance.md"
        write_between(page, "bench", f"Run on {report['date']}, {report['machine']}:\n\n{table(rows)}")
        print(f"\nwritten into {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
