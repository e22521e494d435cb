"""EXIF/XMP/IPTC reading: `read_metadata(path) -> PhotoMeta`, raising only MetadataError.

The reader (and exifread with it) loads on first use, so that importing the model is free."""

from .model import MetadataError, PhotoMeta

__all__ = ["MetadataError", "PhotoMeta", "read_metadata"]


def __getattr__(name: str):
    if name == "read_metadata":
        from .reader import read_metadata

        return read_metadata
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
