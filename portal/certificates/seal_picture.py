"""The red round seal as a PNG picture, for the SESeal (GB/T 38540 allows PNG, which OFD readers draw).

The same look as :mod:`.seal` (the PDF's vector seal): heavy outer ring, thin inner ring, five-pointed
star, the authority's name along the top arc and the purpose line under the star — drawn with Pillow
at twice the size and scaled down for smooth edges, on a transparent background. Made once per
authority when its seal is made, so its cost does not matter.
"""
from __future__ import annotations

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .pdf import FONT_PATH
from .seal import DEFAULT_BOTTOM_TEXT, SEAL_RED

__all__ = ["seal_png"]

_RED = tuple(round(c * 255) for c in SEAL_RED) + (255,)


def _font(px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), max(1, round(px)), index=0)


def _star(cx: float, cy: float, r_outer: float) -> list[tuple[float, float]]:
    r_inner = r_outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    return [(cx + (r_outer if i % 2 == 0 else r_inner) * math.cos(math.radians(90 + i * 36)),
             cy - (r_outer if i % 2 == 0 else r_inner) * math.sin(math.radians(90 + i * 36))) for i in range(10)]


def _glyph(ch: str, font: ImageFont.FreeTypeFont, angle_deg: float) -> Image.Image:
    box = font.getbbox(ch)
    side = 2 * max(box[2], box[3]) + 4
    tile = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((side / 2, side / 2), ch, font=font, fill=_RED, anchor="ms")
    return tile.rotate(angle_deg, resample=Image.BICUBIC, center=(side / 2, side / 2))


@lru_cache(maxsize=64)
def seal_png(name: str, bottom_text: str | None = DEFAULT_BOTTOM_TEXT, pixels: int = 400) -> bytes:
    """The seal of authority *name* as a square PNG of *pixels* × *pixels* (transparent outside the ring)."""
    size = pixels * 2
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size / 2.0
    r_outer = size / 2.0 - size / 60.0
    ring_w = size * 0.028
    draw.ellipse((c - r_outer, c - r_outer, c + r_outer, c + r_outer), outline=_RED, width=round(ring_w))
    r_inner_ring = r_outer - ring_w - size * 0.022
    draw.ellipse((c - r_inner_ring, c - r_inner_ring, c + r_inner_ring, c + r_inner_ring), outline=_RED,
                 width=max(1, round(size * 0.006)))
    draw.polygon(_star(c, c, size * 0.15), fill=_RED)

    name = "".join((name or "").split())
    if name:
        n = len(name)
        span = min(235.0, max(90.0, 20.0 * n))
        r_glyph_top = r_inner_ring - size * 0.03
        step = math.radians(span) / max(n - 1, 1) if n > 1 else 0.0
        chord = 2 * (r_glyph_top - size * 0.06) * math.sin(step / 2) if n > 1 else size
        fs = max(6.0, min(size * 0.12, chord * 0.90))
        r_base = r_glyph_top - fs
        start = math.radians(90 + span / 2.0) if n > 1 else math.radians(90)
        font = _font(fs)
        for i, ch in enumerate(name):
            a = start - i * step
            tile = _glyph(ch, font, math.degrees(a) - 90.0)
            x, y = c + r_base * math.cos(a), c - r_base * math.sin(a)
            img.alpha_composite(tile, (round(x - tile.width / 2), round(y - tile.height / 2)))
    if bottom_text:
        fs = min(size * 0.085, (r_inner_ring * 1.3) / max(len(bottom_text), 1))
        draw.text((c, c + size * 0.29), bottom_text, font=_font(fs), fill=_RED, anchor="ms")

    # One colour, antialiased edges: a 16-entry palette of that red at 16 opacities keeps the PNG small.
    alpha = img.resize((pixels, pixels), Image.LANCZOS).getchannel("A")
    levels = 16
    indexed = alpha.point(lambda a: round(a * (levels - 1) / 255)).convert("P")
    indexed.putpalette(list(_RED[:3]) * levels)
    out = io.BytesIO()
    indexed.save(out, format="PNG", optimize=True,
                 transparency=bytes(round(i * 255 / (levels - 1)) for i in range(levels)))
    return out.getvalue()
