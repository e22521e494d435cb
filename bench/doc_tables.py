"""Dated result tables in docs/, written by the runs that measure them, never by hand.

A page keeps its generated part between two marker comments, `<!-- NAME:start -->` and
`<!-- NAME:end -->`; `write_between` replaces what lies between them and nothing else. The runs
write only when asked (`python -m bench --write-docs`, `AIHD_WRITE_DOCS=1` for the reliability
suite), so that an ordinary run never changes the tree."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


class MarkersMissing(ValueError):
    """The page lacks the start or end marker (or has them in the wrong order)."""


def machine() -> str:
    """The machine a figure was measured on, in one line."""
    cpus = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {cpus} cores, {mem:.0f} GiB"
    )


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z")


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_between(text: str, name: str, body: str) -> str:
    """`text` with what lies between NAME's markers replaced by `body` (markers kept)."""
    start, end = markers(name)
    head, found, rest = text.partition(start)
    middle, found_end, tail = rest.partition(end)
    if not found or not found_end:
        raise MarkersMissing(f"no {start} ... {end} pair")
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def write_between(page: Path, name: str, body: str) -> None:
    """Rewrite `page` with `body` between NAME's markers; the rest of the page stays as it is."""
    text = page.read_text(encoding="utf-8")
    updated = replace_between(text, name, body)
    tmp = page.with_suffix(page.suffix + ".tmp")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, page)
