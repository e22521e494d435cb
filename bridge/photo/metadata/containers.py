"""Where each container keeps its metadata. Each adapter reads only the bytes it needs and
adds what it finds to a `Found`; exifread does the TIFF/EXIF parsing wherever EXIF is."""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass, field

from .bounded import LimitedFile, unpack_at
from .ciff import ciff_facts
from .exif import EXIF, GPS, IFD0, TAG_IPTC, TAG_XMP, Tags, number_of
from .iptc import iptc_from_photoshop

XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
MAX_BOXES = 4096


@dataclass
class Found:
    facts: dict = field(default_factory=dict)  # later sources override earlier ones
    fallback: dict = field(default_factory=dict)  # used only where nothing else says
    xmp: list[bytes] = field(default_factory=list)
    iptc: list[bytes] = field(default_factory=list)

    def add_tags(self, tags: Tags) -> None:
        self.facts.update(tags.facts())
        for number, target in ((TAG_XMP, self.xmp), (TAG_IPTC, self.iptc)):
            raw = tags.raw(IFD0, number)
            if raw:
                target.append(raw)


# -- JPEG ---------------------------------------------------------------------------------


def read_jpeg(f: LimitedFile, found: Found) -> None:
    pos = 2
    while True:
        head = f.read_at(pos, 4)
        if len(head) < 4 or head[0] != 0xFF:
            return
        marker = head[1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker in (0xDA, 0xD9):  # image data: no metadata after this that we read
            return
        length = struct.unpack(">H", head[2:4])[0]
        if length < 2:
            return
        if marker in (0xE0, 0xE1, 0xED) or 0xC0 <= marker <= 0xC3:
            _jpeg_segment(marker, f.read_at(pos + 4, length - 2), found)
        pos += 2 + length


def _jpeg_segment(marker: int, payload: bytes, found: Found) -> None:
    if marker == 0xE1 and payload.startswith(b"Exif\x00"):
        found.add_tags(Tags.from_bytes(payload[6:]))
    elif marker == 0xE1 and payload.startswith(XMP_JPEG):
        found.xmp.append(payload[len(XMP_JPEG) :])
    elif marker == 0xED and payload.startswith(b"Photoshop 3.0\x00"):
        iim = iptc_from_photoshop(payload)
        if iim:
            found.iptc.append(iim)
    elif marker == 0xE0 and payload[6:14] == b"HEAPJPGM":
        found.facts.update(ciff_facts(payload))  # Canon's own record wins, as in ExifTool
    elif 0xC0 <= marker <= 0xC3 and len(payload) >= 5:
        height, width = struct.unpack(">HH", payload[1:5])
        found.fallback.setdefault("width", width)
        found.fallback.setdefault("height", height)


# -- TIFF-based RAWs and TIFF -------------------------------------------------------------


def read_tiff(f: LimitedFile, found: Found, fmt: str) -> None:
    tags = Tags.read(f)
    found.add_tags(tags)
    if fmt == "RW2":  # Panasonic keeps the ISO in its own IFD0 tag
        iso = number_of(tags.get(IFD0, 0x0017))
        if iso is not None:
            found.facts.setdefault("iso", int(iso))
    if fmt == "IIQ":
        lens = _phase_one_lens(f)
        if lens:
            found.facts.setdefault("lens_model", lens)


def _phase_one_lens(f: LimitedFile) -> str | None:
    """Phase One's own directory after the TIFF header ("IIII" at 8) holds the lens name."""
    if f.read_at(8, 4) != b"IIII":
        return None
    base = 8
    (directory,) = unpack_at(f, 16, "<I")
    count, _ = unpack_at(f, base + directory, "<II")
    for i in range(min(count, 512)):
        tag, _fmt, size, value = unpack_at(f, base + directory + 8 + 16 * i, "<IIII")
        if tag == 0x0412 and 0 < size < 256:
            return f.read_at(base + value, size).split(b"\x00")[0].decode("latin-1").strip() or None
    return None


# -- ISO base media (CR3, HEIF) -----------------------------------------------------------


def _boxes(f: LimitedFile, start: int, end: int):
    pos, seen = start, 0
    while pos + 8 <= end and seen < MAX_BOXES:
        seen += 1
        size, kind = unpack_at(f, pos, ">I4s")
        header = 8
        if size == 1:
            (size,) = unpack_at(f, pos + 8, ">Q")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def read_cr3(f: LimitedFile, found: Found) -> None:
    end = f.seek(0, 2)
    for kind, start, stop in _boxes(f, 0, end):
        if kind == b"moov":
            for inner, s, e in _boxes(f, start, stop):
                if inner == b"uuid" and f.read_at(s, 16) == CANON_UUID:
                    _canon_boxes(f, s + 16, e, found)
        elif kind == b"uuid" and f.read_at(start, 16) == XMP_UUID:
            found.xmp.append(f.read_at(start + 16, stop - start - 16))


def _canon_boxes(f: LimitedFile, start: int, end: int, found: Found) -> None:
    first_ifd = {b"CMT1": IFD0, b"CMT2": EXIF, b"CMT4": GPS}
    for kind, s, e in _boxes(f, start, end):
        if kind in first_ifd:
            found.add_tags(Tags.from_bytes(f.read_at(s, e - s), first_ifd[kind]))


def read_heif(f: LimitedFile, found: Found) -> None:
    end = f.seek(0, 2)
    for kind, start, stop in _boxes(f, 0, end):
        if kind == b"meta":
            _heif_meta(f, start + 4, stop, found)  # meta is a full box: skip version/flags
            return


def _heif_meta(f: LimitedFile, start: int, end: int, found: Found) -> None:
    items, locations = {}, {}
    for kind, s, e in _boxes(f, start, end):
        if kind == b"iinf":
            items = _heif_items(f, s, e)
        elif kind == b"iloc":
            locations = _heif_locations(f, s, e)
    for item_id, (item_type, content_type) in items.items():
        if item_id not in locations:
            continue
        offset, length = locations[item_id]
        data = f.read_at(offset, min(length, 4 << 20))
        if item_type == b"Exif" and len(data) > 4:
            skip = 4 + struct.unpack(">I", data[:4])[0]  # offset to the TIFF header
            found.add_tags(Tags.from_bytes(data[skip:]))
        elif item_type == b"mime" and b"rdf+xml" in content_type:
            found.xmp.append(data)


def _heif_items(f: LimitedFile, start: int, end: int) -> dict:
    (version,) = unpack_at(f, start, ">B")
    first = start + 4 + (2 if version == 0 else 4)
    items = {}
    for kind, s, e in _boxes(f, first, end):
        if kind != b"infe":
            continue
        body = f.read_at(s, min(e - s, 512))
        if body[0] < 2 or len(body) < 12:
            continue
        wide = body[0] >= 3
        item_id = struct.unpack(">I" if wide else ">H", body[4:8] if wide else body[4:6])[0]
        type_at = 4 + (4 if wide else 2) + 2
        item_type = body[type_at : type_at + 4]
        rest = body[type_at + 4 :].split(b"\x00")
        items[item_id] = (item_type, rest[1] if len(rest) > 1 else b"")
    return items


def _heif_locations(f: LimitedFile, start: int, end: int) -> dict:
    version, _, _, _, sizes1, sizes2 = unpack_at(f, start, ">BBBBBB")
    offset_size, length_size, base_size = sizes1 >> 4, sizes1 & 15, sizes2 >> 4
    index_size = sizes2 & 15 if version in (1, 2) else 0
    pos = start + 6
    count_fmt = ">H" if version < 2 else ">I"
    (count,) = unpack_at(f, pos, count_fmt)
    pos += struct.calcsize(count_fmt)
    locations = {}

    def number(size: int) -> int:
        nonlocal pos
        if size == 0:
            return 0
        value = int.from_bytes(f.read_at(pos, size), "big")
        pos += size
        return value

    for _ in range(min(count, 1024)):
        item_id = number(2 if version < 2 else 4)
        if version in (1, 2):
            number(2)  # construction method: 0 (file offset) is all we read
        number(2)  # data reference index
        base = number(base_size)
        (extents,) = unpack_at(f, pos, ">H")
        pos += 2
        for n in range(min(extents, 64)):
            number(index_size)
            offset, length = number(offset_size), number(length_size)
            if n == 0:
                locations[item_id] = (base + offset, length)
        if pos > end:
            break
    return locations


# -- other RAWs ---------------------------------------------------------------------------


def read_raf(f: LimitedFile, found: Found) -> None:
    """Fujifilm RAF: the header points to an embedded JPEG, whose EXIF is the camera's."""
    jpeg_offset, jpeg_length = unpack_at(f, 84, ">II")
    read_jpeg(f.window(jpeg_offset, jpeg_length), found)


def read_mrw(f: LimitedFile, found: Found) -> None:
    """Minolta MRW: blocks up to the image data; the TTW block is a TIFF with the EXIF."""
    (data_offset,) = unpack_at(f, 4, ">I")
    pos, end = 8, 8 + data_offset
    for _ in range(64):
        if pos + 8 > end:
            return
        name, size = unpack_at(f, pos, ">4sI")
        if name == b"\x00TTW":
            found.add_tags(Tags.read(f.window(pos + 8, size)))
            return
        pos += 8 + size


_X3F_PROPS = {
    "CAMMANUF": "make",
    "CAMMODEL": "model",
    "ISO": "iso",
    "FLENGTH": "focal_length",
    "FLEQ35MM": "focal_length_35mm",
    "APERTURE": "f_number",
    "SHUTTER": "exposure_time",
}


def read_x3f(f: LimitedFile, found: Found) -> None:
    """Sigma X3F: a directory at the end lists sections; PROP holds UTF-16 name=value pairs."""
    end = f.seek(0, 2)
    (directory,) = unpack_at(f, end - 4, "<I")
    magic, _, count = unpack_at(f, directory, "<4sII")
    if magic != b"SECd":
        return
    for i in range(min(count, 256)):
        offset, length, kind = unpack_at(f, directory + 12 + 12 * i, "<II4s")
        if kind == b"PROP":
            _x3f_props(f.read_at(offset, min(length, 1 << 20)), found)


def _x3f_props(data: bytes, found: Found) -> None:
    if len(data) < 24 or data[:4] != b"SECp":
        return
    count, _fmt, _, chars = struct.unpack("<IIII", data[8:24])
    count = min(count, (len(data) - 24) // 8)
    table = data[24 + 8 * count : 24 + 8 * count + 2 * chars].decode("utf-16-le", "replace")

    def at(n: int) -> str:
        stop = table.find("\x00", n)
        return table[n : stop if stop >= 0 else len(table)]

    props = {}
    for i in range(count):
        name_at, value_at = struct.unpack("<II", data[24 + 8 * i : 32 + 8 * i])
        props[at(name_at)] = at(value_at)
    for name, field_name in _X3F_PROPS.items():
        if props.get(name):
            value = props[name]
            if field_name in ("make", "model"):
                found.facts[field_name] = value
            else:
                try:
                    number = float(value)
                except ValueError:
                    continue
                found.facts[field_name] = int(number) if field_name == "iso" else number
    if props.get("TIME", "").isdigit():
        found.facts["date_time_original"] = time.strftime(
            "%Y:%m:%d %H:%M:%S", time.gmtime(int(props["TIME"]))
        )


# -- WEBP and PNG -------------------------------------------------------------------------


def read_webp(f: LimitedFile, found: Found) -> None:
    (riff_size,) = unpack_at(f, 4, "<I")
    pos, end = 12, min(8 + riff_size, f.seek(0, 2))
    for _ in range(4096):
        if pos + 8 > end:
            return
        kind, size = unpack_at(f, pos, "<4sI")
        if kind == b"EXIF":
            data = f.read_at(pos + 8, size)
            found.add_tags(Tags.from_bytes(data[6:] if data.startswith(b"Exif\x00") else data))
        elif kind == b"XMP ":
            found.xmp.append(f.read_at(pos + 8, size))
        elif kind == b"VP8X" and size >= 10:
            raw = f.read_at(pos + 8 + 4, 6)
            found.fallback.setdefault("width", 1 + int.from_bytes(raw[:3], "little"))
            found.fallback.setdefault("height", 1 + int.from_bytes(raw[3:], "little"))
        pos += 8 + size + (size & 1)


def read_png(f: LimitedFile, found: Found) -> None:
    pos, end = 8, f.seek(0, 2)
    for _ in range(100_000):
        if pos + 8 > end:
            return
        size, kind = unpack_at(f, pos, ">I4s")
        if kind == b"IHDR" and size >= 8:
            width, height = unpack_at(f, pos + 8, ">II")
            found.fallback.setdefault("width", width)
            found.fallback.setdefault("height", height)
        elif kind == b"eXIf":
            found.add_tags(Tags.from_bytes(f.read_at(pos + 8, size)))
        elif kind in (b"iTXt", b"tEXt", b"zTXt") and size < (4 << 20):
            xmp = _png_xmp(kind, f.read_at(pos + 8, size))
            if xmp:
                found.xmp.append(xmp)
        elif kind == b"IEND":
            return
        pos += 12 + size


def _png_xmp(kind: bytes, data: bytes) -> bytes | None:
    keyword, _, rest = data.partition(b"\x00")
    if keyword != b"XML:com.adobe.xmp":
        return None
    if kind == b"iTXt":  # compression flag, method, language\0, translated keyword\0, text
        compressed = rest[:1] == b"\x01"
        text = rest[2:].split(b"\x00", 2)[-1]
        return zlib.decompressobj().decompress(text, 4 << 20) if compressed else text
    if kind == b"zTXt":
        return zlib.decompressobj().decompress(rest[1:], 4 << 20)
    return rest
