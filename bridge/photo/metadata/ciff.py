"""Canon CIFF heaps (CRW files and the "HEAPJPGM" block some Canon JPEGs carry): camera and time.

A heap ends with the offset of its table; table entries point to values or to nested heaps.
"""

from __future__ import annotations

import struct
import time

TAG_MAKE_MODEL, TAG_TIMESTAMP = 0x080A, 0x180E
MAX_DEPTH, MAX_ENTRIES = 8, 1024


def ciff_facts(block: bytes) -> dict:
    """Facts from a CIFF block that starts with its byte order mark ("II" or "MM")."""
    if len(block) < 14 or block[:2] not in (b"II", b"MM"):
        return {}
    endian = "<" if block[:2] == b"II" else ">"
    header = struct.unpack(endian + "I", block[2:6])[0]
    if block[6:10] != b"HEAP":
        return {}
    found: dict = {}
    _heap(block, endian, header, len(block), found, 0)
    return found


def _heap(data: bytes, endian: str, start: int, end: int, found: dict, depth: int) -> None:
    if depth > MAX_DEPTH or not 0 <= start < end <= len(data) or end - start < 6:
        return
    table = start + struct.unpack(endian + "I", data[end - 4 : end])[0]
    if not start <= table < end - 2:
        return
    count = min(struct.unpack(endian + "H", data[table : table + 2])[0], MAX_ENTRIES)
    for i in range(count):
        entry = table + 2 + 10 * i
        if entry + 10 > end:
            return
        tag, size, offset = struct.unpack(endian + "HII", data[entry : entry + 10])
        kind = tag & 0x3800
        if tag & 0xC000 == 0x4000:  # value stored in the entry itself
            value = data[entry + 2 : entry + 10]
        else:
            if not 0 <= start + offset <= start + offset + size <= end:
                continue
            value = data[start + offset : start + offset + size]
            if kind in (0x2800, 0x3000):  # a nested heap
                _heap(data, endian, start + offset, start + offset + size, found, depth + 1)
                continue
        _value(tag & 0x3FFF, value, endian, found)


def _value(tag: int, value: bytes, endian: str, found: dict) -> None:
    if tag == TAG_MAKE_MODEL:
        parts = value.split(b"\x00")
        if len(parts) >= 2 and parts[0]:
            found["make"] = parts[0].decode("latin-1").strip()
            found["model"] = parts[1].decode("latin-1").strip()
    elif tag == TAG_TIMESTAMP and len(value) >= 4:
        seconds = struct.unpack(endian + "I", value[:4])[0]
        found["date_time_original"] = time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(seconds))
