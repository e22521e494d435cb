"""The reliability suite: every test here is marked `reliability`, bounded in count and time,
and reports its figures; the session ends with a summary table of them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

FIGURES = pytest.StashKey[dict]()
HERE = Path(__file__).parent
WRITE_DOCS = "AIHD_WRITE_DOCS"  # =1: write the summary into docs/reliability.md


def pytest_configure(config):
    config.stash[FIGURES] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def report(request):
    """report(area, **figures): figures for the summary table."""

    def add(area: str, **figures) -> None:
        request.config.stash[FIGURES].setdefault(area, {}).update(figures)

    return add


def _line(values: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in values.items())


def figures_table(figures: dict[str, dict], when: str, machine: str) -> str:
    """The summary as a Markdown table for docs/reliability.md."""
    rows = [f"From a run on {when}, {machine}:", "", "| area | figures |", "| --- | --- |"]
    rows += [f"| {area} | {_line(values).replace('|', '/')} |" for area, values in sorted(figures.items())]
    return "\n".join(rows)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures = config.stash.get(FIGURES, {})
    if not figures:
        return
    terminalreporter.write_sep("=", "reliability summary")
    for area, values in figures.items():
        terminalreporter.write_line(f"{area:<22} {_line(values)}")
    if os.environ.get(WRITE_DOCS, "") in ("", "0"):  # only on request: a test run leaves the tree as it was
        return
    from bench.doc_tables import DOCS, machine, now, write_between  # the repository root, python -m pytest

    if exitstatus != 0:
        terminalreporter.write_line("docs/reliability.md not written: the run did not pass")
        return
    write_between(DOCS / "reliability.md", "reliability", figures_table(figures, now(), machine()))
    terminalreporter.write_line("figures written into docs/reliability.md")


@pytest.fixture(scope="session")
def noisy_jpeg() -> bytes:
    """A 30-40 KB photo-like JPEG (noise compresses badly), so faults land mid-body."""
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((200, 150), 60).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.fixture
def photos(tmp_path, noisy_jpeg):
    """photos(n): n distinct JPEGs (the same picture, a different EXIF note each)."""
    from PIL import Image

    def make(count: int, folder: str = "photos") -> list[Path]:
        base = Image.open(io.BytesIO(noisy_jpeg))
        out = tmp_path / folder
        out.mkdir(exist_ok=True)
        paths = []
        for n in range(count):
            exif = Image.Exif()
            exif[0x010E] = f"reliability photo {folder} {n}"
            path = out / f"photo-{n:04d}.jpg"
            buf = io.BytesIO()
            base.save(buf, "JPEG", quality=85, exif=exif.tobytes())
            path.write_bytes(buf.getvalue())
            paths.append(path)
        return paths

    return make
