"""Small JPEG thumbnails of the photos the bridge took, for the status page.

Each is made once (from the spool copy, before it goes) and cached in the data dir as
`thumbs/<item id>.jpg`. RAW files give their embedded EXIF preview when they carry one;
decoding the raw data itself would cost seconds, so without a preview there is no thumbnail
and the page shows a neutral placeholder.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from ..core.replacing import replace
from .formats import FORMATS

log = logging.getLogger(__name__)
SIZE = 240  # pixels on the long side: sharp at 120 CSS px on a 2x screen, about 5-10 KB
QUALITY = 75


def _read_binary(path: Path) -> BinaryIO:
    return open(path, "rb")  # the caller's `with` closes it


class Thumbnails:
    def __init__(
        self, root: Path, open_file: Callable[[Path], AbstractContextManager[BinaryIO]] = _read_binary
    ):
        # The bridge passes the spool's own opener: no link followed, no FIFO waited on.
        self.root, self._open_file = root, open_file
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}

    def path_for(self, item_id: str) -> Path:
        return self.root / f"{item_id}.jpg"

    def cached(self, item_id: str) -> Path | None:
        path = self.path_for(item_id)
        return path if path.is_file() else None

    def make(self, item_id: str, source: str | os.PathLike | None, format_name: str | None) -> Path | None:
        """The thumbnail of `source`, made now unless it already exists; None when the file
        gives none (gone, damaged, or a RAW without a preview)."""
        done = self.cached(item_id)
        if done or not source:
            return done
        with self._lock:
            lock = self._making.setdefault(item_id, threading.Lock())
        with lock:  # two page requests for the same photo make it once
            try:
                done = self.cached(item_id)
                if done is None:
                    done = self._write(item_id, Path(source), format_name)
            finally:
                with self._lock:
                    self._making.pop(item_id, None)
        return done

    def _write(self, item_id: str, source: Path, format_name: str | None) -> Path | None:
        try:
            with self._open_file(source) as fh:
                image = _open(fh, format_name)
                if image is None:
                    return None
                with image:
                    image.draft("RGB", (SIZE, SIZE))  # JPEG: decode at 1/2..1/8 scale, fast
                    from PIL import ImageOps

                    small = ImageOps.exif_transpose(image)
                    small.thumbnail((SIZE, SIZE))
                    small = small.convert("RGB")
        except Exception as exc:  # any decoder failure is a property of this file
            log.info("no thumbnail for %s (%s: %s)", source, type(exc).__name__, exc)
            return None
        self.root.mkdir(parents=True, exist_ok=True)
        dest = self.path_for(item_id)
        tmp = dest.with_suffix(".tmp")
        small.save(tmp, "JPEG", quality=QUALITY, optimize=True)
        replace(tmp, dest)  # a half-written thumbnail is never served
        return dest

    def prune(self, older_than_days: float) -> int:
        """Drop thumbnails made more than that many days ago (the page shows recent batches;
        an old one gone shows the placeholder)."""
        if not self.root.is_dir():
            return 0
        before = time.time() - older_than_days * 86400
        gone = 0
        for path in self.root.iterdir():
            try:
                if path.stat().st_mtime < before:
                    path.unlink()
                    gone += 1
            except OSError:
                continue
        return gone


def _open(source: BinaryIO, format_name: str | None):
    from PIL import Image

    fmt = FORMATS.get(format_name or "")
    if fmt is not None and fmt.raw:
        return _raw_preview(source)
    if format_name in ("HEIC", "HEIF"):
        import pillow_heif

        pillow_heif.register_heif_opener()
    return Image.open(source)


def _raw_preview(source: BinaryIO):
    """The JPEG preview a RAW carries in its EXIF (IFD1), read with bounded seeks."""
    import exifread
    from PIL import Image

    tags = exifread.process_file(source, details=False, extract_thumbnail=True)
    preview = tags.get("JPEGThumbnail")
    return Image.open(io.BytesIO(preview)) if preview else None
