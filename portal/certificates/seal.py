"""The red round seal of an issuing authority, drawn by code as a vector PDF.

The result is a one-page PDF (a square page of *size* points) that
:mod:`.signing` imports as the background of the visible signature.  Double
ring, five-pointed star, the authority's name along the top arc (each
character a real glyph of the embedded WenQuanYi Micro Hei subset, rotated to
the arc) and, optionally, a horizontal purpose line (电子证照专用章) under the
star.  A few KB; the same input gives the same bytes (reportlab invariant
mode), so it is cached per (name, bottom text, size).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

from reportlab.pdfgen import canvas as rl_canvas

from .pdf import register_fonts

__all__ = ["SEAL_RED", "DEFAULT_BOTTOM_TEXT", "seal_pdf"]

SEAL_RED = (0.86, 0.08, 0.10)
DEFAULT_BOTTOM_TEXT = "电子证照专用章"


def _star_path(c: rl_canvas.Canvas, cx: float, cy: float, r_outer: float):
    r_inner = r_outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    p = c.beginPath()
    for i in range(10):
        r = r_outer if i % 2 == 0 else r_inner
        a = math.radians(90 + i * 36)
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        if i == 0:
            p.moveTo(x, y)
        else:
            p.lineTo(x, y)
    p.close()
    return p


def _draw_seal(
    c: rl_canvas.Canvas, name: str, bottom_text: str | None, size: float, font: str
) -> None:
    cx = cy = size / 2.0
    r_outer = size / 2.0 - 2.0
    ring_w = size * 0.028
    c.setStrokeColorRGB(*SEAL_RED)
    c.setFillColorRGB(*SEAL_RED)

    # Double ring: a heavy outer ring and a thin inner one.
    c.setLineWidth(ring_w)
    c.circle(cx, cy, r_outer - ring_w / 2.0, stroke=1, fill=0)
    r_inner_ring = r_outer - ring_w - size * 0.022
    c.setLineWidth(size * 0.006)
    c.circle(cx, cy, r_inner_ring, stroke=1, fill=0)

    # Star in the middle.
    c.drawPath(_star_path(c, cx, cy, size * 0.15), stroke=0, fill=1)

    # Name along the top arc, reading clockwise, each glyph upright to the arc.
    name = "".join(name.split())
    n = len(name)
    if n:
        span = min(235.0, max(90.0, 20.0 * n))  # degrees covered by the text
        r_glyph_top = r_inner_ring - size * 0.03
        step = math.radians(span) / max(n - 1, 1) if n > 1 else 0.0
        # Font size: fit the arc spacing and the ring band.
        chord = 2 * (r_glyph_top - size * 0.06) * math.sin(step / 2) if n > 1 else size
        fs = max(6.0, min(size * 0.12, chord * 0.90))
        r_base = r_glyph_top - fs  # baseline radius: glyph tops stay inside the ring
        start = math.radians(90 + span / 2.0) if n > 1 else math.radians(90)
        c.setFont(font, fs)
        for i, ch in enumerate(name):
            a = start - i * step
            c.saveState()
            c.translate(cx + r_base * math.cos(a), cy + r_base * math.sin(a))
            c.rotate(math.degrees(a) - 90.0)
            c.drawCentredString(0, 0, ch)
            c.restoreState()

    # Purpose line under the star, horizontal.
    if bottom_text:
        fs = min(size * 0.085, (r_inner_ring * 1.3) / max(len(bottom_text), 1))
        c.setFont(font, fs)
        c.drawCentredString(cx, cy - size * 0.29, bottom_text)


@lru_cache(maxsize=256)
def seal_pdf(
    name: str, bottom_text: str | None = DEFAULT_BOTTOM_TEXT, size: float = 120.0
) -> bytes:
    """The seal of authority *name* as one-page vector PDF bytes (size × size pt)."""
    font = register_fonts()
    buf = io.BytesIO()
    c = rl_canvas.Canvas(
        buf, pagesize=(size, size), pageCompression=1, invariant=1, initialFontName=font
    )
    c.setTitle("seal")
    c.setCreator("portal.certificates.seal")
    _draw_seal(c, name, bottom_text, size, font)
    c.showPage()
    c.save()
    return buf.getvalue()
