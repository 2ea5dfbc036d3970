"""TEMPORARY certificate layout for the OFD copy, until the real ``layout_certificate(doc) -> Page`` lands.

The real layout (the same face as the PDF) is written on another branch against
:mod:`.page`; when it is merged, :func:`portal.certificates.ofd_documents.certificate_ofd` calls it
instead of :func:`interim_layout` and this module is deleted. It lays a
:class:`~portal.certificates.pdf.CertificateDocument` out as plain bordered tables — title, number
and 电子证照标识, 使用单位, the face fields, 业务信息, 相关人员, the QR code, 发证机关 / 发证日期 and an
empty seal box (:data:`~portal.certificates.pdf.SEAL_BOX`) — with every value printed, wrapped to its
cell by the font's advances. Plain values: no Flask, no database.
"""
from __future__ import annotations

from .page import Image, Line, Page, Rect, Text
from .pdf import CERTIFICATE_TITLE, FONT_NAME, FONT_PATH, PAGE_SIZE, SEAL_BOX, CertificateDocument, \
    format_date, qr_png
from .ttf_subset import font_program

__all__ = ["interim_layout"]

_W, _H = PAGE_SIZE
_LEFT, _RIGHT = 48.0, _W - 48.0
_RED = (0.86, 0.08, 0.10)
_BOTTOM = SEAL_BOX[3] + 12.0  # the tables end above the footer (QR code, 发证机关, seal)


class _Sheet:
    def __init__(self, scale: float):
        self.font = font_program(str(FONT_PATH), 0)
        self.items: list = []
        self.y = _H - 40.0  # top of the next block, PDF points from the bottom
        self.size, self.lead, self.pad = 8.0 * scale, 10.5 * scale, 3.0 * scale

    def text(self, x: float, baseline: float, text: str, size: float | None = None, color=(0.0, 0.0, 0.0)) -> float:
        size = size or self.size
        width = self.font.text_width(text, size)
        self.items.append(Text(x, baseline, text, size, width, color))
        return width

    def centred(self, baseline: float, text: str, size: float, color=(0.0, 0.0, 0.0)) -> None:
        self.text((_W - self.font.text_width(text, size)) / 2, baseline, text, size, color)

    def wrap(self, text: str, width: float) -> list[str]:
        """Lines of *text* no wider than *width* (CJK text breaks anywhere)."""
        text = str(text)
        if self.font.text_width(text, self.size) <= width:
            return [text]
        lines, line, used = [], "", 0.0
        for ch in text:
            advance = self.font.text_width(ch, self.size)
            if line and used + advance > width:
                lines.append(line)
                line, used = "", 0.0
            line, used = line + ch, used + advance
        return lines + [line] if line or not lines else lines

    def row(self, cells: list[tuple[str, float]]) -> None:
        """One table row: (text, width) cells from the left margin, height of the tallest cell."""
        wrapped = [self.wrap(text, width - 2 * self.pad) for text, width in cells]
        height = max(len(lines) for lines in wrapped) * self.lead + 2 * self.pad
        x = _LEFT
        for (_, width), lines in zip(cells, wrapped):
            self.items.append(Rect(x, self.y - height, width, height))
            for i, line in enumerate(lines):
                self.text(x + self.pad, self.y - self.pad - (i + 1) * self.lead + 0.25 * self.lead, line)
            x += width
        self.y -= height

    def pairs(self, heading: str, pairs) -> None:
        """(label, value) pairs two per row; a long value takes a whole row."""
        self.heading(heading)
        width = _RIGHT - _LEFT
        label_w, value_w = width * 0.2, width * 0.3
        pending = None
        for label, value in pairs:
            value = "" if value is None else (format_date(value, "") if hasattr(value, "isoformat") else str(value))
            if self.font.text_width(value, self.size) > 2 * (value_w - 2 * self.pad):
                if pending:
                    self.row([(pending[0], label_w), (pending[1], width - label_w)])
                    pending = None
                self.row([(str(label), label_w), (value, width - label_w)])
            elif pending is None:
                pending = (str(label), value)
            else:
                self.row([(pending[0], label_w), (pending[1], value_w), (str(label), label_w), (value, value_w)])
                pending = None
        if pending:
            self.row([(pending[0], label_w), (pending[1], width - label_w)])

    def heading(self, text: str) -> None:
        self.y -= 1.6 * self.lead
        self.text(_LEFT, self.y + 0.3 * self.lead, text, 1.2 * self.size)
        self.y -= 0.2 * self.lead


def interim_layout(doc: CertificateDocument, license_id: str | None = None) -> Page:
    """TEMPORARY: the certificate face as a :class:`Page` (replace by the real ``layout_certificate``).

    The tables shrink (down to 60 %) until they end above the footer."""
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        sheet = _tables(doc, license_id, scale)
        if sheet.y >= _BOTTOM:
            break
    return _footer(sheet, doc, license_id)


def _tables(doc: CertificateDocument, license_id: str | None, scale: float) -> _Sheet:
    sheet = _Sheet(scale)
    sheet.items.append(Rect(24.0, 24.0, _W - 48.0, _H - 48.0, line_width=1.2))
    sheet.centred(_H - 78.0, doc.title or CERTIFICATE_TITLE, 20.0)
    sheet.centred(_H - 100.0, f"证书编号：{doc.number}", 10.5)
    if license_id:
        sheet.centred(_H - 114.0, f"电子证照标识：{license_id}", 7.0)
    if doc.status_note:
        sheet.centred(_H - 128.0, doc.status_note, 10.0, _RED)
    sheet.y = _H - 134.0
    sheet.pairs("使用单位", [("使用单位名称", doc.holder_name), ("统一社会信用代码", doc.holder_uscc),
                         ("设备类别", doc.crane_type_name), ("有效期至", format_date(doc.valid_until))])
    sheet.pairs("设备与工程信息", doc.face)
    if doc.business:
        sheet.pairs("业务信息", doc.business)
    if doc.persons:
        sheet.heading("相关人员信息")
        widths = [w * (_RIGHT - _LEFT) for w in (0.05, 0.29, 0.11, 0.21, 0.19, 0.15)]
        sheet.row(list(zip(["序号", "人员类型", "姓名", "身份证号码", "证书编号", "联系电话"], widths)))
        for i, p in enumerate(doc.persons, start=1):
            kind = p.get("type_name") or ""
            if p.get("type_code"):
                kind += f"（{p.get('type_code')}）"
            values = [str(i), kind, p.get("name") or "", p.get("id_number") or "", p.get("cert_no") or "",
                      p.get("phone") or ""]
            sheet.row(list(zip(values, widths)))
    return sheet


def _footer(sheet: _Sheet, doc: CertificateDocument, license_id: str | None) -> Page:
    x1, y1, x2, y2 = SEAL_BOX
    sheet.items.append(Image(_LEFT + 4.0, y1 + 12.0, 92.0, 92.0, qr_png(doc.verify_url)))
    sheet.text(_LEFT + 22.0, y1 + 2.0, "扫码验证真伪", 8.0)
    for baseline, line in ((y1 + 70.0, f"发证机关：{doc.authority_name}"),
                           (y1 + 52.0, f"发证日期：{format_date(doc.issue_date, '')}")):
        sheet.text(x1 - 8.0 - sheet.font.text_width(line, 10.0), baseline, line, 10.0)
    sheet.items.append(Line(_LEFT, y2 + 8.0, _RIGHT, y2 + 8.0, line_width=0.3))
    keywords = (doc.number, doc.holder_name, doc.authority_name) + ((license_id,) if license_id else ()) + (
        (doc.status_note,) if doc.status_note else ())  # as in the PDF: the 已注销 copy says so in its metadata
    return Page(width=_W, height=_H, items=tuple(sheet.items), font_name=FONT_NAME, font_path=str(FONT_PATH),
                seal_box=SEAL_BOX, title=f"{doc.title or CERTIFICATE_TITLE} {doc.number}", keywords=keywords)
