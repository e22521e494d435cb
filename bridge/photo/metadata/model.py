"""The facts read from a photo, whatever container they came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


class MetadataError(Exception):
    """The file's metadata cannot be read; the reason says why in plain words."""


@dataclass(frozen=True)
class PhotoMeta:
    make: str | None = None
    model: str | None = None
    date_time_original: str | None = None  # "YYYY:MM:DD HH:MM:SS", as EXIF writes it
    offset_time_original: str | None = None  # "+02:00": the timezone of the above
    orientation: int | None = None
    iso: int | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    focal_length: float | None = None
    focal_length_35mm: float | None = None
    lens_model: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    width: int | None = None
    height: int | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    label: str | None = None
    rating: int | None = None

    @property
    def hour(self) -> int | None:
        text = self.date_time_original or ""
        try:
            return int(text[11:13])
        except ValueError:
            return None

    def to_dict(self) -> dict:
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
            if v not in (None, ())
        }
