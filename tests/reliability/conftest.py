"""The reliability suite: every test here is marked `reliability`, bounded in count and time,
and reports its figures; the session ends with a summary table of them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from support import FIGURES

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def report(request):
    """report(area, **figures): figures for the summary table (tests/conftest.py gathers them)."""

    def add(area: str, **figures) -> None:
        # user_properties travel with the test's report from an xdist worker to the main process
        request.node.user_properties.append((FIGURES, {area: figures}))

    return add


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
