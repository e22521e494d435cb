"""The sandbox's pictures: a preview of the photo sent, and results that visibly differ from it."""

from __future__ import annotations

import io
from typing import IO

RESULT_SIDE = 1280  # pixels on the long side of a result at most


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
    if service == "service-day-to-dusk":
        dark = ImageEnhance.Brightness(im).enhance(0.45)
        sky = {"Golden hour": (255, 150, 60), "Pink sunset": (240, 110, 160)}.get(
            choices.get("Sky", ""), (40, 60, 150)
        )
        tint = Image.new("RGB", im.size, sky)
        im = Image.blend(dark, tint, 0.35)
        if choices.get("Window lights", "On") == "On":
            draw = ImageDraw.Draw(im)
            for n in range(3):  # lit windows
                x = w * (0.2 + 0.25 * n)
                draw.rectangle((x, h * 0.55, x + w * 0.08, h * 0.7), fill=(255, 210, 120))
    elif service in ("service-ai-virtual-staging", "service-creative-designer"):
        palette = {"Warm": (170, 90, 50), "Cool": (60, 100, 150), "Neutral": (150, 140, 130)}
        colour = palette.get(choices.get("Colour palette", ""), (90 + 30 * variation, 70, 60))
        if service == "service-creative-designer":
            im = ImageOps.posterize(im, 3)
        draw = ImageDraw.Draw(im)
        draw.rectangle((w * 0.15, h * 0.6, w * 0.65, h * 0.85), fill=colour)  # a sofa
        draw.rectangle((w * 0.7, h * 0.7, w * 0.85, h * 0.85), fill=(200, 190, 170))  # a table
    elif service == "service-item-removal":
        im = ImageOps.grayscale(im).convert("RGB")
        im = Image.blend(im, Image.new("RGB", im.size, (235, 235, 230)), 0.5)
    else:  # image enhancement
        im = ImageOps.autocontrast(im, cutoff=2)
        im = ImageEnhance.Color(im).enhance(1.6 if choices.get("Finish") == "Vivid" else 1.3)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()
