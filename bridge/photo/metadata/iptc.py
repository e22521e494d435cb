"""IPTC-IIM keywords, from a Photoshop resource block (JPEG APP13) or a bare IIM record (TIFF)."""

from __future__ import annotations

import struct

IPTC_RESOURCE = 0x0404
RECORD_KEYWORDS = (2, 25)


def iptc_from_photoshop(data: bytes) -> bytes | None:
    """The IIM block inside Photoshop image resources ("8BIM" blocks)."""
    pos = data.find(b"8BIM")
    while pos >= 0 and pos + 12 <= len(data):
        if data[pos : pos + 4] != b"8BIM":
            return None
        resource = struct.unpack(">H", data[pos + 4 : pos + 6])[0]
        name_len = data[pos + 6]
        pos += 7 + name_len + ((name_len + 1) & 1)  # Pascal string padded to even length
        if pos + 4 > len(data):
            return None
        size = struct.unpack(">I", data[pos : pos + 4])[0]
        pos += 4
        if resource == IPTC_RESOURCE:
            return data[pos : pos + size]
        pos += size + (size & 1)
    return None


def iptc_keywords(iim: bytes) -> list[str]:
    keywords, utf8, pos = [], False, 0
    while pos + 5 <= len(iim) and iim[pos] == 0x1C:
        record, dataset = iim[pos + 1], iim[pos + 2]
        size = struct.unpack(">H", iim[pos + 3 : pos + 5])[0]
        pos += 5
        if size & 0x8000:  # extended length: rare and never for keywords; stop safely
            break
        value = iim[pos : pos + size]
        pos += size
        if (record, dataset) == (1, 90):
            utf8 = b"\x1b%G" in value
        elif (record, dataset) == RECORD_KEYWORDS:
            keywords.append(_decode(value, utf8))
    return [k for k in keywords if k]


def _decode(value: bytes, utf8: bool) -> str:
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("utf-8" if utf8 else "latin-1", "replace").strip()
