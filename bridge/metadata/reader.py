"""Pick the right source of metadata for a container and merge what each source finds."""

from __future__ import annotations

from pathlib import Path

from .exif import exif_facts
from .model import MetadataError, PhotoMeta


def read_metadata(path: Path) -> PhotoMeta:
    try:
        with open(path, "rb") as fh:
            return PhotoMeta(**exif_facts(fh))
    except MetadataError:
        raise
    except OSError as exc:
        raise MetadataError(f"cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:  # a damaged file may trip any parser: one error type out
        raise MetadataError(f"damaged metadata ({type(exc).__name__}: {exc})") from None
