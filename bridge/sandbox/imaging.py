"""The sandbox's pictures: a preview of the photo sent, and results that visibly differ from it."""

from __future__ import annotations

import io
from typing import IO

RESULT_SIDE = 1280  # pixels on the long side of a result at most
VARIATIONS = {"service-creative-designer": 2}  # results per submit; the others make one


def preview(photo: IO[bytes]) -> bytes | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(photo) as source:
            source.draft("RGB", (RESULT_SIDE, RESULT_SIDE))  # JPEG: decode at a fraction of the size
            im = source.convert("RGB")
        im.thumbnail((RESULT_SIDE, RESULT_SIDE))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=90)
        return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None  # a RAW or a damaged file: its results are drawn from nothing


def render(preview: bytes | None, service: str, choices: dict[str, str], variation: int) -> bytes:
    """A result that visibly differs from the photo, in the way the service would change it."""
    from PIL import Image, ImageDraw, ImageEnhance, ImageOps

    if preview is None:
        im = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    else:
        im = Image.open(io.BytesIO(preview)).convert("RGB")
    w, h = im.size
    # The choices' words, whatever the version names its widgets ("Sky Style" or "Sky").
    words = " ".join(choices.values()).lower()
    if service == "service-day-to-dusk":
        dark = ImageEnhance.Brightness(im).enhance(0.45)
        sky = (90, 50, 140) if "twilight" in words else (255, 150, 60) if "golden" in words else (40, 60, 150)
        im = Image.blend(dark, Image.new("RGB", im.size, sky), 0.35)
        draw = ImageDraw.Draw(im)
        for n in range(3):  # lit windows
            x = w * (0.2 + 0.25 * n)
            draw.rectangle((x, h * 0.55, x + w * 0.08, h * 0.7), fill=(255, 210, 120))
    elif service in ("service-ai-virtual-staging", "service-creative-designer"):
        colour = (
            (170, 90, 50)
            if "warm" in words
            else (60, 100, 150)
            if "cool" in words
            else (90 + 30 * variation, 70, 60)
        )
        if service == "service-creative-designer":
            im = ImageOps.posterize(im, 3)
        draw = ImageDraw.Draw(im)
        draw.rectangle((w * 0.15, h * 0.6, w * 0.65, h * 0.85), fill=colour)  # a sofa
        draw.rectangle((w * 0.7, h * 0.7, w * 0.85, h * 0.85), fill=(200, 190, 170))  # a table
    elif service == "service-item-removal":
        im = ImageOps.grayscale(im).convert("RGB")
        im = Image.blend(im, Image.new("RGB", im.size, (235, 235, 230)), 0.5)
    else:  # image enhancement, and the tools only v3 has
        im = ImageOps.autocontrast(im, cutoff=2)
        im = ImageEnhance.Color(im).enhance(1.3)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()


def thumbnail(picture: bytes, side: int = 320) -> bytes:
    """A small copy of a JPEG, as the API's `thumbnail_src` links give."""
    from PIL import Image

    im = Image.open(io.BytesIO(picture)).convert("RGB")
    im.thumbnail((side, side))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()
