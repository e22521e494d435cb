"""XMP packets: keywords, colour label, rating, and EXIF-like facts where EXIF has none.

Parsed with defusedxml: entity declarations (billion laughs) and external entities are refused.
"""

from __future__ import annotations

import re

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from .model import MetadataError

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "exifEX": "http://cipa.jp/exif/1.0/",
    "aux": "http://ns.adobe.com/exif/1.0/aux/",
}
MAX_PACKET = 4 << 20


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def decode_packet(data: bytes) -> str:
    """XMP is UTF-8 mostly, but UTF-16/32 packets exist (with or without a BOM)."""
    data = data[:MAX_PACKET]
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    if data[:2] == b"\x00<":
        return data.decode("utf-16-be", "replace")
    if data[:2] == b"<\x00":
        return data.decode("utf-16-le", "replace")
    return data.decode("utf-8", "replace")


def parse_xmp(data: bytes) -> dict:
    """Facts from one XMP packet. Raises MetadataError for XML that is broken or hostile."""
    text = decode_packet(data).strip("\x00 \r\n\t")
    start = text.find("<x:xmpmeta")
    if start < 0:
        start = text.find("<rdf:RDF")
    if start < 0:
        return {}
    end_tag = "</x:xmpmeta>" if text.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = text.find(end_tag, start)
    body = text[start : end + len(end_tag)] if end >= 0 else text[start:]
    doctype = re.search(r"<!DOCTYPE", text[:start], re.I)
    try:
        root = ElementTree.fromstring(
            (text[doctype.start() : start] if doctype else "") + body, forbid_dtd=True
        )
    except DefusedXmlException:
        raise MetadataError("its XMP declares entities, which are refused") from None
    except ElementTree.ParseError as exc:
        raise MetadataError(f"its XMP is not valid XML ({exc})") from None
    return _facts(root)


def _values(root, prefix: str, name: str) -> list[str]:
    """Every value of a property, in attribute form or as an element (simple or rdf list)."""
    tag, out = _q(prefix, name), []
    for desc in root.iter(_q("rdf", "Description")):
        if tag in desc.attrib:
            out.append(desc.attrib[tag])
    for element in root.iter(tag):
        items = list(element.iter(_q("rdf", "li")))
        if items:
            out.extend(li.text or "" for li in items)
        elif element.text and element.text.strip():
            out.append(element.text)
    return [v.strip() for v in out if v and v.strip()]


def _facts(root) -> dict:
    out: dict = {}
    keywords = _values(root, "dc", "subject")
    keywords += [h.split("|")[-1] for h in _values(root, "lr", "hierarchicalSubject")]
    if keywords:
        out["keywords"] = keywords
    for field, prefix, name in (
        ("label", "xmp", "Label"),
        ("make", "tiff", "Make"),
        ("model", "tiff", "Model"),
        ("lens_model", "exifEX", "LensModel"),
        ("lens_model", "aux", "Lens"),
    ):
        values = _values(root, prefix, name)
        if values and field not in out:
            out[field] = values[0]
    rating = _values(root, "xmp", "Rating")
    if rating:
        try:
            out["rating"] = max(-1, min(5, int(float(rating[0]))))
        except ValueError:
            pass
    date = _values(root, "exif", "DateTimeOriginal")
    if date:
        match = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?([+-]\d\d:\d\d|Z)?", date[0])
        if match:
            y, mo, d, h, mi, s, tz = match.groups()
            out["date_time_original"] = f"{y}:{mo}:{d} {h}:{mi}:{s or '00'}"
            if tz:
                out["offset_time_original"] = "+00:00" if tz == "Z" else tz
    for field, prefix, name in (
        ("orientation", "tiff", "Orientation"),
        ("iso", "exif", "ISOSpeedRatings"),
        ("focal_length", "exif", "FocalLength"),
    ):
        values = _values(root, prefix, name)
        if values:
            number = _number(values[0])
            if number is not None:
                out[field] = int(number) if field != "focal_length" else number
    return out


def _number(text: str) -> float | None:
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None
