"""EXIF/XMP/IPTC reading: `read_metadata(path) -> PhotoMeta`, raising only MetadataError."""

from .model import MetadataError, PhotoMeta
from .reader import read_metadata

__all__ = ["MetadataError", "PhotoMeta", "read_metadata"]
