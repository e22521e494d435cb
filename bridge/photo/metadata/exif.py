"""EXIF (TIFF IFDs) through exifread, gathered by tag number and mapped onto PhotoMeta fields.

Tags are kept by number, not exifread's names, so that a bare IFD (a CR3 CMT box, whose
first IFD is really the EXIF or GPS one) maps as well as a whole TIFF.
"""

from __future__ import annotations

import io
import logging

import exifread

from ..formats import Readable

# exifread logs every odd tag at WARNING; damaged files are our business, not the log's.
logging.getLogger("exifread").setLevel(logging.ERROR)

IFD0, EXIF, GPS = "ifd0", "exif", "gps"
_GROUPS = {"Image": IFD0, "EXIF": EXIF, "GPS": GPS}
TAG_XMP, TAG_IPTC = 0x02BC, 0x83BB


class Tags:
    """Tags of one TIFF structure by group and number, with access to their raw bytes."""

    def __init__(self, fh: Readable, groups: dict[str, dict[int, object]]):
        self._fh, self.groups = fh, groups

    @classmethod
    def read(cls, fh: Readable, first_ifd_is: str = IFD0) -> Tags:
        # exifread asks for a BinaryIO but only reads, seeks and tells.
        raw = exifread.process_file(fh, details=False, extract_thumbnail=False)  # type: ignore[arg-type]
        groups: dict[str, dict[int, object]] = {IFD0: {}, EXIF: {}, GPS: {}}
        for name, tag in raw.items():
            group = _GROUPS.get(name.split(" ", 1)[0])
            if group is None or not hasattr(tag, "tag"):
                continue
            if group == IFD0:
                group = first_ifd_is
            groups[group].setdefault(tag.tag, tag)
        return cls(fh, groups)

    @classmethod
    def from_bytes(cls, blob: bytes, first_ifd_is: str = IFD0) -> Tags:
        return cls.read(io.BytesIO(blob), first_ifd_is)

    def get(self, group: str, number: int):
        return self.groups[group].get(number)

    def raw(self, group: str, number: int, limit: int = 4 << 20) -> bytes | None:
        """The tag's value as bytes straight from the file (for embedded XMP and IPTC)."""
        tag = self.get(group, number)
        if tag is None or not getattr(tag, "field_length", 0):
            return None
        self._fh.seek(tag.field_offset)
        return self._fh.read(min(tag.field_length, limit))

    def facts(self) -> dict:
        out: dict = {}
        for field, group, number in (
            ("make", IFD0, 0x010F),
            ("model", IFD0, 0x0110),
            ("lens_model", EXIF, 0xA434),
            ("offset_time_original", EXIF, 0x9011),
            ("date_time_original", EXIF, 0x9003),
        ):
            value = text(self.get(group, number))
            if value:
                out[field] = value
        for field, group, number in (
            ("orientation", IFD0, 0x0112),
            ("iso", EXIF, 0x8827),
            ("width", EXIF, 0xA002),
            ("height", EXIF, 0xA003),
        ):
            count = number_of(self.get(group, number))
            if count is not None:
                out[field] = int(count)
        for field, number in (
            ("exposure_time", 0x829A),
            ("f_number", 0x829D),
            ("focal_length", 0x920A),
            ("focal_length_35mm", 0xA405),
        ):
            measure = number_of(self.get(EXIF, number))
            if measure is not None:
                out[field] = measure
        lat, lon = self._gps(2, 1, "S"), self._gps(4, 3, "W")
        if lat is not None and lon is not None:
            out["gps_latitude"], out["gps_longitude"] = lat, lon
        return out

    def _gps(self, number: int, ref_number: int, negative: str) -> float | None:
        tag = self.get(GPS, number)
        values = getattr(tag, "values", None)
        if not isinstance(values, list) or len(values) != 3:
            return None
        try:
            d, m, s = (_ratio(v) for v in values)
        except (ZeroDivisionError, TypeError, ValueError):
            return None
        value = d + m / 60 + s / 3600
        ref = (text(self.get(GPS, ref_number)) or "").upper()
        return -value if ref.startswith(negative) else value


def text(tag) -> str | None:
    if tag is None:
        return None
    value = tag.values
    if isinstance(value, list):  # some writers store text as a byte array
        if not all(isinstance(v, int) and 0 <= v < 256 for v in value):
            return None
        value = bytes(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    result = str(value).split("\x00")[0].strip()
    return result or None


def number_of(tag) -> float | None:
    values = getattr(tag, "values", None)
    if not isinstance(values, list) or not values:
        return None
    try:
        return _ratio(values[0])
    except (ZeroDivisionError, TypeError, ValueError):
        return None


def _ratio(value) -> float:
    if hasattr(value, "num"):
        return value.num / value.den
    return float(value)
