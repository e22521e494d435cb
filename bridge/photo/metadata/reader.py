"""read_metadata: find the container, let its adapter gather sources, merge them into PhotoMeta.

Precedence follows ExifTool where the sources disagree: EXIF first, a later source of the same
kind over an earlier one, XMP only where EXIF says nothing (but its keywords, label and rating
always count), keywords from IPTC and XMP together.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..formats import detect
from . import containers
from .bounded import LimitedFile
from .iptc import iptc_keywords
from .model import MetadataError, PhotoMeta
from .xmp import parse_xmp

_TIFF_BASED = {"TIFF", "DNG", "NEF", "ARW", "CR2", "PEF", "ORF", "RW2", "IIQ"}
_ADAPTERS = {
    "JPEG": containers.read_jpeg,
    "CR3": containers.read_cr3,
    "HEIC": containers.read_heif,
    "HEIF": containers.read_heif,
    "RAF": containers.read_raf,
    "MRW": containers.read_mrw,
    "X3F": containers.read_x3f,
    "WEBP": containers.read_webp,
    "PNG": containers.read_png,
}


def read_metadata(path: Path) -> PhotoMeta:
    """The facts of one photo. Raises MetadataError, and nothing else, when it cannot."""
    meta, _ = read_metadata_counted(path)
    return meta


def read_metadata_counted(path: Path) -> tuple[PhotoMeta, int]:
    """read_metadata, plus how many bytes of the file it read (for the benchmarks)."""
    try:
        with open(path, "rb") as fh:
            f = LimitedFile(fh)
            fmt = detect(f)
            if fmt is None:
                raise MetadataError("it is not a photo format the bridge reads")
            found = containers.Found()
            if fmt.name in _TIFF_BASED:
                containers.read_tiff(f, found, fmt.name)
            else:
                _ADAPTERS[fmt.name](f, found)
            return _merge(found), f.bytes_read
    except MetadataError:
        raise
    except OSError as exc:
        raise MetadataError(f"cannot read the file ({exc.strerror or exc})") from None
    except RecursionError:
        raise MetadataError("its metadata nests too deeply") from None
    except (
        struct.error,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
        EOFError,
        UnicodeError,
        MemoryError,
    ) as exc:
        # exifread and the adapters meet damage as a parsing exception: one error type out.
        raise MetadataError(f"its metadata is damaged ({type(exc).__name__})") from None


def _merge(found: containers.Found) -> PhotoMeta:
    facts = dict(found.facts)
    keywords: list[str] = []
    for block in found.iptc:
        keywords += iptc_keywords(block)
    for packet in found.xmp:
        try:
            xmp = parse_xmp(packet)
        except MetadataError:
            continue  # a broken XMP packet does not hide the EXIF beside it
        keywords += xmp.pop("keywords", [])
        for key in ("label", "rating"):
            if key in xmp:
                facts[key] = xmp.pop(key)
        for key, value in xmp.items():
            facts.setdefault(key, value)
    for key, value in found.fallback.items():
        facts.setdefault(key, value)
    unique = list(dict.fromkeys(k for k in keywords if k))
    return PhotoMeta(**facts, keywords=tuple(unique))
