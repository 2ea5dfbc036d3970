"""Render a 建筑起重机械使用登记证书 as a one-page A4 PDF.

Plain values in, bytes out: no Flask, no database.  :func:`~.layout.layout_certificate` lays the
face out as a :class:`~.page.Page`; :func:`draw_pdf` draws that page with reportlab's canvas —
every value as real text in the embedded WenQuanYi Micro Hei subset, the QR code as an image —
and :mod:`.signing` then adds the PAdES signature with the red seal inside :data:`SEAL_BOX`.
"""

from __future__ import annotations

import io

from reportlab.lib.rl_accel import fp_str
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as rl_canvas

from .fonts import font as face_font

# The layout's names are re-exported: callers (signing, seal, jobs, bench, tests) import them from here.
from .layout import (
    CERTIFICATE_TITLE,
    FONT_NAME,
    FONT_PATH,
    PAGE_SIZE,
    SEAL_BOX,
    CertificateDocument,
    FaceTooLong,
    format_date,
    layout_certificate,
    qr_png,
    register_fonts,
)
from .page import Image, Line, Page, Rect, Text

__all__ = [
    "CERTIFICATE_TITLE",
    "CertificateDocument",
    "FONT_NAME",
    "FONT_PATH",
    "FaceTooLong",
    "PAGE_SIZE",
    "SEAL_BOX",
    "draw_pdf",
    "format_date",
    "qr_png",
    "register_fonts",
    "render_certificate_pdf",
]


class _Pen:
    """Canvas state that changes rarely: set only when it does (fewer operators, same picture)."""

    def __init__(self, c: rl_canvas.Canvas):
        self.c = c
        self.fill = self.stroke = self.width = None

    def fill_color(self, rgb) -> None:
        if rgb != self.fill:
            self.c.setFillColorRGB(*rgb)
            self.fill = rgb

    def stroke_with(self, rgb, width: float) -> None:
        if rgb != self.stroke:
            self.c.setStrokeColorRGB(*rgb)
            self.stroke = rgb
        if width != self.width:
            self.c.setLineWidth(width)
            self.width = width


def _draw_texts(c: rl_canvas.Canvas, font, texts: list[Text], pen: _Pen) -> None:
    """One text object for a run of texts: font subset, size and position per text, as reportlab's
    drawString writes them (a third of the drawing time went to a text object per string)."""
    doc = c._doc
    code = ["BT"]
    current = None
    for text in texts:
        if text.color != pen.fill:
            code.append("%s rg" % fp_str(*text.color))
            pen.fill = text.color
        code.append("1 0 0 1 %s Tm" % fp_str(text.x, text.y))
        for subset, chunk in font.splitString(text.text, doc):
            if (subset, text.size) != current:
                code.append(f"{font.getSubsetInternalName(subset, doc)} {fp_str(text.size)} Tf")
                current = (subset, text.size)
            code.append(f"({c._escape(chunk)}) Tj")
    code.append("ET")
    c.addLiteral("\n".join(code))


def draw_pdf(page: Page) -> bytes:
    """Draw *page* as a one-page PDF (its font embedded as a subset, every text selectable)."""
    register_fonts()
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=(page.width, page.height), pageCompression=1,
                         initialFontName=page.font_name, lang="zh-CN")
    c.setTitle(page.title)
    if page.keywords:
        c.setKeywords(list(page.keywords))
    c.setCreator("证照管理系统")
    font = pdfmetrics.getFont(page.font_name)
    if page.font_name == FONT_NAME:
        face_font().start_document(c._doc)  # the glyphs every face prints first: cached subsets
    pen = _Pen(c)
    items = page.items
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, Text):
            j = i
            while j < len(items) and isinstance(items[j], Text):
                j += 1
            _draw_texts(c, font, list(items[i:j]), pen)
            i = j
            continue
        if isinstance(item, Rect):
            if item.fill is not None:
                pen.fill_color(item.fill)
            if item.stroke is not None:
                pen.stroke_with(item.stroke, item.line_width)
            c.rect(item.x, item.y, item.w, item.h, stroke=int(item.stroke is not None),
                   fill=int(item.fill is not None))
        elif isinstance(item, Line):
            pen.stroke_with(item.color, item.line_width)
            c.line(item.x1, item.y1, item.x2, item.y2)
        elif isinstance(item, Image):
            c.drawImage(ImageReader(io.BytesIO(item.png)), item.x, item.y, item.w, item.h)
        else:  # pragma: no cover - a new primitive without a drawer
            raise TypeError(f"cannot draw {type(item).__name__}")
        i += 1
    c.showPage()
    c.save()
    return buf.getvalue()


def render_certificate_pdf(doc: CertificateDocument) -> bytes:
    """Render *doc* to PDF bytes (A4, one page, CJK font embedded, unsigned)."""
    return draw_pdf(layout_certificate(doc))
