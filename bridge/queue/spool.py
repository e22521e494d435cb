"""The spool: the bridge's own copy of every file it accepted, so hosts may delete theirs.

A hard link costs nothing and survives the host deleting its temporary export; across
file systems (or where links are refused) the file is copied in chunks.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class Spool:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, item_id: str, suffix: str) -> Path:
        return self.root / f"{item_id}{suffix.lower()}"

    def take(self, src: Path, item_id: str) -> Path:
        dest = self.path_for(item_id, src.suffix)
        try:
            os.link(src, dest)
            return dest
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                                 errno.EACCES):
                raise
        try:
            shutil.copyfile(src, dest)  # sendfile/chunks: never the whole file in memory
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

    def receive(self, stream: BinaryIO, item_id: str, suffix: str) -> Path:
        """Write an uploaded stream into the spool."""
        dest = self.path_for(item_id, suffix)
        try:
            with dest.open("wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

    def remove(self, path: str | os.PathLike | None) -> None:
        if path:
            Path(path).unlink(missing_ok=True)

    def orphans(self, in_use: set[str]) -> list[Path]:
        return [p for p in self.root.iterdir() if p.is_file() and str(p) not in in_use]


FINGERPRINT_BYTES = 65536


def fingerprint_of(path: Path) -> str:
    """Size plus a hash of the first and last 64 KB: equal files always match, and different
    photos practically never do. It finds dedupe candidates without reading the whole file
    before the upload; the full sha256, computed when the bridge is idle, decides."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest = hashlib.sha256(fh.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            fh.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            digest.update(fh.read(FINGERPRINT_BYTES))
    return f"{size}:{digest.hexdigest()[:32]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
