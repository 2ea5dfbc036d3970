"""Render a 建筑起重机械使用登记证书 as a one-page A4 PDF.

Plain values in, bytes out: no Flask, no database.  :func:`~.layout.layout_certificate` lays the
face out as a :class:`~.page.Page`; :func:`draw_pdf` draws that page with reportlab's canvas —
every value as real text in the embedded WenQuanYi Micro Hei subset, the QR code as an image —
and :mod:`.signing` then adds the PAdES signature with the red seal inside :data:`SEAL_BOX`.
"""

from __future__ import annotations

import io

from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas as rl_canvas

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
from .fonts import font as face_font
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
    if page.font_name == FONT_NAME:
        face_font().start_document(c._doc)  # the glyphs every face prints first: cached subsets
    pen = _Pen(c)
    font = None
    for item in page.items:
        if isinstance(item, Text):
            if font != item.size:
                c.setFont(page.font_name, item.size)
                font = item.size
            pen.fill_color(item.color)
            c.drawString(item.x, item.y, item.text)
        elif isinstance(item, Rect):
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
    c.showPage()
    c.save()
    return buf.getvalue()


def render_certificate_pdf(doc: CertificateDocument) -> bytes:
    """Render *doc* to PDF bytes (A4, one page, CJK font embedded, unsigned)."""
    return draw_pdf(layout_certificate(doc))
