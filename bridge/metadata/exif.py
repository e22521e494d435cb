"""EXIF (TIFF IFDs) through exifread, mapped onto PhotoMeta's fields."""

from __future__ import annotations

import logging
from typing import BinaryIO

import exifread

# exifread logs every odd tag at WARNING; damaged files are our business, not the log's.
logging.getLogger("exifread").setLevel(logging.ERROR)

_TEXT = {
    "make": "Image Make",
    "model": "Image Model",
    "lens_model": "EXIF LensModel",
    "offset_time_original": "EXIF OffsetTimeOriginal",
}


def exif_facts(fh: BinaryIO) -> dict:
    tags = exifread.process_file(fh, details=False, extract_thumbnail=False)
    return facts_from_tags(tags)


def facts_from_tags(tags: dict) -> dict:
    out: dict = {}
    for field, name in _TEXT.items():
        text = _text(tags.get(name))
        if text:
            out[field] = text
    date = _text(tags.get("EXIF DateTimeOriginal"))
    if date:
        out["date_time_original"] = date
    for field, names in (("orientation", ("Image Orientation",)),
                         ("iso", ("EXIF ISOSpeedRatings", "EXIF PhotographicSensitivity")),
                         ("width", ("EXIF ExifImageWidth",)),
                         ("height", ("EXIF ExifImageLength",))):
        value = _first_number(tags, names)
        if value is not None:
            out[field] = int(value)
    for field, name in (("exposure_time", "EXIF ExposureTime"), ("f_number", "EXIF FNumber"),
                        ("focal_length", "EXIF FocalLength"),
                        ("focal_length_35mm", "EXIF FocalLengthIn35mmFilm")):
        value = _number(tags.get(name))
        if value is not None:
            out[field] = value
    lat = _gps(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S")
    lon = _gps(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef", "W")
    if lat is not None and lon is not None:
        out["gps_latitude"], out["gps_longitude"] = lat, lon
    return out


def _text(tag) -> str | None:
    if tag is None:
        return None
    value = tag.values
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).split("\x00")[0].strip()
    return text or None


def _number(tag) -> float | None:
    if tag is None or not isinstance(tag.values, list) or not tag.values:
        return None
    value = tag.values[0]
    try:
        if hasattr(value, "num"):
            return value.num / value.den if value.den else None
        return float(value)
    except (TypeError, ValueError):
        return None


def _first_number(tags: dict, names) -> float | None:
    for name in names:
        value = _number(tags.get(name))
        if value is not None:
            return value
    return None


def _gps(tags: dict, name: str, ref_name: str, negative: str) -> float | None:
    tag = tags.get(name)
    if tag is None or not isinstance(tag.values, list) or len(tag.values) != 3:
        return None
    try:
        d, m, s = (v.num / v.den if hasattr(v, "num") else float(v) for v in tag.values)
    except (ZeroDivisionError, TypeError, ValueError):
        return None
    value = d + m / 60 + s / 3600
    return -value if (_text(tags.get(ref_name)) or "").upper().startswith(negative) else value
