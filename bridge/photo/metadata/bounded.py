"""Reading metadata with bounded cost, whatever a damaged or hostile file claims."""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from .model import MetadataError

MAX_CHUNK = 16 << 20  # no single metadata read is larger than this
MAX_TOTAL = 64 << 20  # nor all of them together, for one file


class LimitedFile(io.RawIOBase):
    """A read-only view of a file that caps each read and the total read, and counts bytes."""

    def __init__(
        self, fh: BinaryIO, start: int = 0, length: int | None = None, _budget: list[int] | None = None
    ):
        self._fh, self._start = fh, start
        self._budget = _budget if _budget is not None else [0]  # shared with windows
        fh.seek(0, io.SEEK_END)
        end = fh.tell()
        self._end = end if length is None else min(end, start + length)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._end - self._start}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        left = max(0, self._end - self._start - self._pos)
        n = left if n is None or n < 0 else min(n, left)
        n = min(n, MAX_CHUNK)
        if self._budget[0] + n > MAX_TOTAL:
            raise MetadataError("its metadata claims to be larger than any real photo's")
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(n)
        self._pos += len(data)
        self._budget[0] += len(data)
        return data

    @property
    def bytes_read(self) -> int:
        """Bytes read through this view and every window of it."""
        return self._budget[0]

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def window(self, start: int, length: int) -> LimitedFile:
        """A view of part of this one (an embedded file), sharing the same file handle."""
        return LimitedFile(self._fh, self._start + start, length, self._budget)

    def read_at(self, offset: int, n: int) -> bytes:
        self.seek(offset)
        return self.read(n)


def unpack_at(fh: LimitedFile, offset: int, fmt: str) -> tuple:
    size = struct.calcsize(fmt)
    data = fh.read_at(offset, size)
    if len(data) < size:
        raise MetadataError("it is cut short inside its metadata")
    return struct.unpack(fmt, data)
