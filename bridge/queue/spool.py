"""The spool: the bridge's own copy of every file it accepted, so hosts may delete theirs.

The copy is taken from the handle the file was checked through, so it is always the file that
was checked. A hard link costs nothing and survives the host deleting its temporary export; it
is kept only when it names that very inode (never a symlink: a relative link would point
elsewhere from the spool folder). Across file systems, where links are refused, or when the
path changed since it was opened, the file is copied from that handle. Copies are
0600 in a 0700 folder; a hard link keeps the source's own mode, behind that folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

CHUNK = 1 << 20
# The spool's own files: never follow a link out of it, never wait on a FIFO put in it.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class NotOwnCopy(OSError):
    """A spool entry that is not a regular file: a link or a special file put there."""


class Spool:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_for(self, item_id: str, suffix: str) -> Path:
        return self.root / f"{item_id}{suffix.lower()}"

    def take(self, src: Path, fh: BinaryIO, item_id: str) -> Path:
        """Keep the file open in `fh`, checked already and found at `src`."""
        dest = self.path_for(item_id, src.suffix)
        opened = os.fstat(fh.fileno())
        # Linux's link() links a symlink itself: then the file it resolves to is linked.
        if self._linked(src, dest, opened) or self._linked(Path(os.path.realpath(src)), dest, opened):
            return dest
        return self._create(dest, lambda out: _copy_file(fh, out))

    @staticmethod
    def _linked(src: Path, dest: Path, opened: os.stat_result) -> bool:
        """Hard-link `src` as `dest` if it is the very file that was opened; False if not."""
        try:
            os.link(src, dest)
        except OSError:  # refused (another file system...) or the path moved: copy instead
            return False
        linked = os.lstat(dest)
        if stat.S_ISREG(linked.st_mode) and (linked.st_dev, linked.st_ino) == (opened.st_dev, opened.st_ino):
            return True
        dest.unlink()  # a symlink, or the path was repointed since it was opened
        return False

    def receive(self, stream: IO[bytes], item_id: str, suffix: str) -> Path:
        """Write an uploaded stream into the spool."""
        return self._create(
            self.path_for(item_id, suffix), lambda out: shutil.copyfileobj(stream, out, CHUNK)
        )

    @staticmethod
    def _create(dest: Path, fill: Callable[[BinaryIO], None]) -> Path:
        """A new file only the owner can read, never through a link; gone if `fill` fails."""
        out = os.fdopen(os.open(dest, _CREATE_FLAGS, 0o600), "wb")
        try:
            with out:
                fill(out)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

    def remove(self, path: str | os.PathLike | None) -> None:
        if path:
            Path(path).unlink(missing_ok=True)

    def orphans(self, in_use: set[str]) -> list[Path]:
        # lstat: a link or a FIFO left in the spool is an orphan too, not followed
        return [
            p for p in self.root.iterdir() if not stat.S_ISDIR(p.lstat().st_mode) and str(p) not in in_use
        ]


def _copy_file(src: BinaryIO, out: BinaryIO) -> None:
    """Copy an open file: in the kernel where it copies file to file (Linux), else in chunks;
    never the whole file in memory."""
    if sys.platform.startswith("linux"):
        offset = 0
        while sent := os.sendfile(out.fileno(), src.fileno(), offset, 1 << 30):
            offset += sent
    else:
        src.seek(0)
        shutil.copyfileobj(src, out, CHUNK)


FINGERPRINT_BYTES = 65536


@contextlib.contextmanager
def open_copy(path: Path) -> Iterator[BinaryIO]:
    """Open a spool entry for reading, refusing anything but a regular file: a symlink is not
    followed, a FIFO is not waited on (both raise NotOwnCopy)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (BSDs: EMLINK)
            raise NotOwnCopy(exc.errno, "it is a link, not a file") from None
        raise
    fh = os.fdopen(fd, "rb")
    with fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotOwnCopy(errno.EINVAL, "it is not a regular file")
        yield fh


def fingerprint_of(path: Path) -> str:
    """Size plus a hash of the first and last 64 KB: equal files always match, and different
    photos practically never do. It finds dedupe candidates without reading the whole file
    before the upload; the full sha256, computed when the bridge is idle, decides."""
    with open_copy(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        digest = hashlib.sha256(fh.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            fh.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            digest.update(fh.read(FINGERPRINT_BYTES))
    return f"{size}:{digest.hexdigest()[:32]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open_copy(path) as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
