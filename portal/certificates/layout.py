"""The face of a 建筑起重机械使用登记证书, laid out as a :class:`~.page.Page`.

Plain values in, a page of positioned text, rectangles, lines and the QR image out: no Flask, no
database, no renderer.  :mod:`.pdf` draws the page with reportlab; the OFD rendition draws the same
page, so both copies carry the same face.

The geometry reproduces, point for point, the face the portal printed with xhtml2pdf and an HTML
template until 2026-12 (kept under ``tests/certificates/reference_face/`` as the test oracle): the
same frames, table column shares, paddings, line pitches and CJK line breaking (reportlab's
``wordSplit``, which xhtml2pdf itself called), measured in the embedded WenQuanYi Micro Hei.
Numbers below that look odd (an image of 69 pt for a 92 pt box, a 12 pt line in spanning cells)
are that renderer's behaviour, kept so the face stays the same to the eye.

Privacy (PIPL): the face prints ID numbers masked with the pages' rule
(:func:`portal.display.mask_id_number`) and no phone numbers; the full values stay in the database
and in the report to the ministry, the phone numbers on the authorised detail pages.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

import segno
from PIL import Image as PilImage
from reportlab.lib.textsplit import wordSplit
from reportlab.pdfbase import pdfmetrics

from portal.display import mask_id_number
from portal.standard import codes
from portal.standard.fields import FIELDS

from .fonts import FONT_NAME, FONT_PATH, register_fonts
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
    "format_date",
    "layout_certificate",
    "qr_png",
    "register_fonts",
]

CERTIFICATE_TITLE = "建筑起重机械使用登记证书"

# --------------------------------------------------------------------------
# Page geometry (PDF points, origin bottom-left)
# --------------------------------------------------------------------------
PAGE_SIZE = (595.28, 841.89)  # A4
_PAGE_W, _PAGE_H = PAGE_SIZE
_MARGIN_X = 48.0
_CONTENT_TOP = _PAGE_H - 40.0
_CONTENT_W = _PAGE_W - 2 * _MARGIN_X
_FOOTER_Y1 = 46.0  # bottom of the footer (QR code, 发证机关, seal)

_SEAL_SIZE = 120.0  # ≈ 42 mm, the usual diameter of an official round seal
_SEAL_X2 = _PAGE_W - _MARGIN_X - 6.0
SEAL_BOX: tuple[float, float, float, float] = (
    _SEAL_X2 - _SEAL_SIZE,
    _FOOTER_Y1,
    _SEAL_X2,
    _FOOTER_Y1 + _SEAL_SIZE,
)
"""(x1, y1, x2, y2) of the seal area on page 1, in PDF points.

The face leaves this area empty, at the right of the 发证机关 / 发证日期 lines;
:func:`portal.certificates.signing.sign_certificate_pdf` puts the visible signature (the red seal)
there."""

_CONTENT_BOTTOM = SEAL_BOX[3] + 8.0  # the tables end above the footer
_AUTH_BOX = (_MARGIN_X + 104.0, _FOOTER_Y1, SEAL_BOX[0] - 4.0, SEAL_BOX[3])  # right-aligned lines
_QR_X, _QR_TOP = _MARGIN_X + 4.0, SEAL_BOX[3]
_QR_SIZE = 69.0  # the template asked for 92 "pt" and xhtml2pdf drew 92 px = 69 pt
_QR_CAPTION_W = 92.0

# Colours (RGB 0–1), as the template's CSS had them.
_INK = (0x11 / 255, 0x11 / 255, 0x11 / 255)
_FRAME_RED = (0xA6 / 255, 0x1B / 255, 0x1B / 255)
_NOTE_RED = (0xC0 / 255, 0.0, 0.0)
_LABEL_FILL = (0xF3 / 255, 0xEC / 255, 0xE4 / 255)
_OUTER_RULE = (0x33 / 255, 0x33 / 255, 0x33 / 255)
_INNER_RULE = (0x55 / 255, 0x55 / 255, 0x55 / 255)

# Table column shares, in % of the content width.
_LABEL_PCT, _VALUE_PCT, _WIDE_PCT = 23, 27, 77
# No phone column on the face (PIPL); its 15 % went to the columns that carry long values.
_PERSON_COLS = (  # key, heading, width %
    ("index", "序号", 5),
    ("type", "人员类型", 32),
    ("name", "姓名", 13),
    ("id_number", "身份证号码", 25),
    ("cert_no", "证书编号", 25),
)


class FaceTooLong(ValueError):
    """The certificate's values do not fit on one page even in the smallest type."""


@dataclass(frozen=True)
class CertificateDocument:
    """Everything printed on a certificate, as ready-to-print values.

    ``face`` and ``business`` are ``(label, value)`` pairs in print order, the labels already in
    Chinese.  ``persons`` are dicts with the keys ``type_code, type_name, name, id_number,
    cert_no``; the face masks ``id_number`` and prints no phone number, whatever else a dict holds.
    ``license_id`` is the 电子证照标识 (GB/T 36904), printed under the number when present.
    """

    number: str
    holder_name: str
    holder_uscc: str
    crane_type_name: str
    face: Sequence[tuple[str, Any]]
    business: Sequence[tuple[str, Any]]
    persons: Sequence[Mapping[str, Any]]
    authority_name: str
    authority_uscc: str
    issue_date: dt.date
    valid_until: dt.date | None
    verify_url: str
    status_note: str | None = None
    title: str = field(default=CERTIFICATE_TITLE)
    license_id: str | None = None


# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------
# Characters most certificates print besides the labels: common in company names and addresses.
_COMMON_CHARS = (
    "有限责任公司股份集团建设工程建筑机械设备租赁安装拆卸监理施工总承包第一二三四五六七八九十局院所"
    "中国省市区县镇乡村街道路号楼栋幢单元层室小区住宅项目期东南西北新城开发经济技术产业园大厦广场"
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
    "建国华明伟强军平文志红丽芳敏静秀英燕霞刚勇杰涛斌超波鹏辉磊亮飞宇浩俊峰龙海"
)


@lru_cache(maxsize=1)
def _seed_text() -> str:
    """What the face prints on most certificates, for :class:`~.fonts.SubsetCachingFont`."""
    parts = [CERTIFICATE_TITLE, "证书编号：设备类别：电子证照标识：发证机关：发证日期：扫码验证长期有效年月日已注销（）",
             "持证主体照面信息业务信息相关人员使用单位名称统一社会信用代码发证机关代码有效期至无",
             *(heading for _, heading, _ in _PERSON_COLS), *(f.label for f in FIELDS),
             *(t.name for t in codes.personnel_types()), *(t.name for t in codes.crane_types()),
             *(d.full_name for d in codes.all_divisions()), _COMMON_CHARS]
    return "".join(parts)


_seeded = threading.Event()


def _font_ready() -> None:
    """The font registered and told which glyphs every face starts with (once per process)."""
    register_fonts()
    if not _seeded.is_set():
        face_font().set_seed(_seed_text())
        _seeded.set()


def _width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT_NAME, size)


@lru_cache(maxsize=64)
def _ascent(size: float) -> float:
    """Baseline below the top of a line box (the font's ascent, as xhtml2pdf placed it)."""
    return pdfmetrics.getAscentDescent(FONT_NAME, size)[0]


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------
def format_date(value: dt.date | None, empty: str = "长期有效") -> str:
    """``2024-03-05`` → ``2024年03月05日``; None → *empty*."""
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.year}年{value.month:02d}月{value.day:02d}日"


# A fixed data mask: choosing the "best" of the eight (ISO/IEC 18004 §7.8.3) costs four fifths of the
# QR code's time, and every mask reads the same (the reader learns it from the format bits).
_QR_MASK = 4


def qr_png(url: str, scale: int = 4) -> bytes:
    """The verification URL as a QR-code PNG (error correction M, 2 modules of quiet zone), greyscale."""
    qr = segno.make(url, error="m", micro=False, boost_error=False, mask=_QR_MASK)
    border = 2
    size = len(qr.matrix) + 2 * border
    # Pillow encodes the PNG in C: segno's own writer took as long as encoding the code.
    modules = bytearray(b"\xff" * (size * size))
    for row, line in enumerate(qr.matrix, start=border):
        offset = row * size + border
        modules[offset:offset + len(line)] = bytes(0 if dark else 0xFF for dark in line)
    image = PilImage.frombytes("L", (size, size), bytes(modules)).resize(
        (size * scale, size * scale), PilImage.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _text(value: Any) -> str:
    """A value as printed: dates in Chinese, whitespace collapsed as HTML did."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return format_date(value, "")
    return " ".join(str(value).split())


# --------------------------------------------------------------------------
# Vertical flow: blocks with collapsing margins, like the platypus frame did
# --------------------------------------------------------------------------
class _Flow:
    """Stacks blocks down from the content top; the gap between two blocks is the larger of the
    upper one's space after and the lower one's space before (none above the first)."""

    def __init__(self, top: float):
        self.y = top
        self._space_after: float | None = None

    def block(self, height: float, before: float = 0.0, after: float = 0.0) -> float:
        """Reserve *height*; returns the block's top."""
        if self._space_after is not None:
            self.y -= max(self._space_after, before)
        top = self.y
        self.y -= height
        self._space_after = after
        return top


def _centred_text(items: list, text: str, size: float, x1: float, width: float, baseline: float,
                  color=_INK) -> None:
    w = _width(text, size)
    items.append(Text(x1 + (width - w) / 2.0, baseline, text, size, w, color))


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Metrics:
    """Table cell metrics for one cell font size (8 pt on every real certificate)."""

    size: float

    @property
    def pitch(self) -> float:
        # xhtml2pdf's line box for line-height 1.15 ("autoLeading max"): 5/6 of the leading above
        # the baseline and 1/6 below, each widened to the font's ascent and descent.
        ascent, descent = pdfmetrics.getAscentDescent(FONT_NAME, self.size)
        leading = 1.15 * self.size
        return max(leading * 5 / 6, ascent) + max(leading / 6, -descent)

    pad_top = 2.0
    pad_bottom = 0.5
    pad_x = 3.0


@dataclass
class _Cell:
    text: str
    x: float
    w: float
    label: bool = False  # shaded
    centred: bool = False
    wrap: bool = False  # CJK breaking (break anywhere)
    spanning: bool = False  # a value spanning three columns of a pair table

    def lines(self, m: _Metrics) -> list[str]:
        if not self.wrap:
            return [self.text]
        room = self.w - 2 * m.pad_x
        return [line for _, line in wordSplit(self.text, room, FONT_NAME, m.size)] or [""]


def _fits(text: str, pct: float, size: float) -> bool:
    """Does *text* fit on one line of a cell *pct* % of the content width wide?"""
    room = _CONTENT_W * pct / 100.0 - 2 * _Metrics.pad_x - 2.0
    return _width(text, size) <= room


def _col(pct: float) -> float:
    return _CONTENT_W * pct / 100.0


def _pair_rows(items: Sequence[tuple[str, Any]], size: float) -> list[list[_Cell]]:
    """(label, value) pairs two per row; a value too long for half a row gets a whole one.

    Order is kept: a short item waiting for a partner before a long one gets a row of its own.
    """
    x0 = _MARGIN_X
    label_w, value_w, wide_w = _col(_LABEL_PCT), _col(_VALUE_PCT), _col(_WIDE_PCT)

    def label(text: str, x: float) -> _Cell:
        return _Cell(text, x, label_w, label=True, centred=True, wrap=not _fits(text, _LABEL_PCT, size))

    def half(item, x: float) -> list[_Cell]:
        return [label(item[0], x), _Cell(item[1], x + label_w, value_w, wrap=not _fits(item[1], _VALUE_PCT, size))]

    def whole(item) -> list[_Cell]:
        return [label(item[0], x0), _Cell(item[1], x0 + label_w, wide_w, spanning=True,
                                          wrap=not _fits(item[1], _WIDE_PCT, size))]

    rows: list[list[_Cell]] = []
    pending = None
    for raw_label, raw_value in items:
        item = (_text(raw_label), _text(raw_value))
        if not _fits(item[1], _VALUE_PCT * 2 - 4, size):  # more than two lines in half a row
            if pending is not None:
                rows.append(whole(pending))
                pending = None
            rows.append(whole(item))
        elif pending is None:
            pending = item
        else:
            rows.append(half(pending, x0) + half(item, x0 + label_w + value_w))
            pending = None
    if pending is not None:
        rows.append(whole(pending))
    return rows


def _person_rows(persons: Sequence[Mapping[str, Any]], size: float) -> list[list[_Cell]]:
    xs, x = [], _MARGIN_X
    for _, _, pct in _PERSON_COLS:
        xs.append((x, _col(pct), pct))
        x += _col(pct)
    header = [_Cell(heading, cx, cw, label=True, centred=True) for (_, heading, _), (cx, cw, _) in zip(_PERSON_COLS, xs)]
    rows = [header]
    for i, p in enumerate(persons, start=1):
        type_name, code = _text(p.get("type_name")), _text(p.get("type_code"))
        values = {
            "index": str(i),
            "type": f"{type_name}（{code}）" if code else type_name,
            "name": _text(p.get("name")),
            "id_number": mask_id_number(_text(p.get("id_number"))),
            "cert_no": _text(p.get("cert_no")),
        }
        rows.append([_Cell(values[key], cx, cw, centred=True, wrap=not _fits(values[key], pct, size))
                     for (key, _, _), (cx, cw, pct) in zip(_PERSON_COLS, xs)])
    if not persons:
        rows.append([_Cell("无", _MARGIN_X, _CONTENT_W, centred=True, spanning=True)])
    return rows


def _table(flow: _Flow, rows: list[list[_Cell]], m: _Metrics, fills: list, texts: list, rules: list) -> None:
    """Lay out a grid table: shaded label cells, centred rows, the rules drawn last (as before:
    the table's box, then per row its box in the heavier outer rule and its cells in the thin one)."""
    pitch, ascent = m.pitch, _ascent(m.size)
    # A spanning cell that does not wrap got xhtml2pdf's default 1.5 line height.
    spanning_line = 1.5 * m.size
    laid = []
    for row in rows:
        cells = [(cell, cell.lines(m)) for cell in row]
        heights = [spanning_line if cell.spanning and not cell.wrap else len(lines) * pitch for cell, lines in cells]
        laid.append((cells, heights, max(heights) + m.pad_top + m.pad_bottom))
    total = sum(h for _, _, h in laid)
    top = flow.block(total)
    x1, x2 = _MARGIN_X, _MARGIN_X + _CONTENT_W
    rules.append(Rect(x1, top - total, x2 - x1, total, stroke=_OUTER_RULE, line_width=0.8))
    y = top
    for cells, heights, row_h in laid:
        inner = row_h - m.pad_top - m.pad_bottom
        rules.append(Rect(x1, y - row_h, x2 - x1, row_h, stroke=_OUTER_RULE, line_width=0.8))
        for (cell, lines), content_h in zip(cells, heights):
            if cell.label:
                fills.append(Rect(cell.x, y - row_h, cell.w, row_h, stroke=None, fill=_LABEL_FILL))
            rules.append(Rect(cell.x, y - row_h, cell.w, row_h, stroke=_INNER_RULE, line_width=0.5))
            baseline = y - m.pad_top - (inner - content_h) / 2.0 - ascent
            if cell.spanning and not cell.wrap:
                baseline -= (spanning_line - pitch) / 2.0
            room = cell.w - 2 * m.pad_x
            for line in lines:
                if line:
                    if cell.centred:
                        _centred_text(texts, line, m.size, cell.x + m.pad_x, room, baseline)
                    else:
                        texts.append(Text(cell.x + m.pad_x, baseline, line, m.size, _width(line, m.size), _INK))
                baseline -= pitch
        y -= row_h


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _frame_items() -> tuple:
    """The double red border, the same on every certificate (laid out once per process)."""
    return (
        Rect(24.0, 24.0, _PAGE_W - 48.0, _PAGE_H - 48.0, stroke=_FRAME_RED, line_width=2.2),
        Rect(28.0, 28.0, _PAGE_W - 56.0, _PAGE_H - 56.0, stroke=_FRAME_RED, line_width=0.6),
    )


def _footer(doc: CertificateDocument) -> list:
    """QR code with its caption (bottom left), 发证机关 / 发证日期 right-aligned against the seal."""
    qr_y = _QR_TOP - 0.063 - _QR_SIZE  # xhtml2pdf's image line box sat a hair under the frame top
    caption_top = _QR_TOP - (_QR_SIZE + 0.45)
    items: list = [Image(_QR_X, qr_y, _QR_SIZE, _QR_SIZE, qr_png(doc.verify_url))]
    _centred_text(items, "扫码验证", 9.0, _QR_X, _QR_CAPTION_W, caption_top - _ascent(9.0))
    x2 = _AUTH_BOX[2]
    first_top = _AUTH_BOX[3] - 38.0
    for text, top in ((f"发证机关：{_text(doc.authority_name)}", first_top),
                      (f"发证日期：{format_date(doc.issue_date, '')}", first_top - 15.0 - 4.0)):
        w = _width(text, 10.0)
        items.append(Text(x2 - w, top - _ascent(10.0), text, 10.0, w, _INK))
    return items


def _layout(doc: CertificateDocument, size: float) -> tuple[list, float]:
    m = _Metrics(size)
    items: list = list(_frame_items())
    items += _footer(doc)
    flow = _Flow(_CONTENT_TOP)

    # Title: 21 pt, 2 pt letter spacing (centred on its unspaced width, as before), one glyph per
    # Text so that every renderer spaces it the same way.
    title = _text(doc.title)
    top = flow.block(4.0 + 31.5) - 4.0
    x = _MARGIN_X + (_CONTENT_W - _width(title, 21.0)) / 2.0
    for ch in title:
        w = _width(ch, 21.0)
        items.append(Text(x, top - _ascent(21.0), ch, 21.0, w, _INK))
        x += w + 2.0

    number_line = f"证书编号：{_text(doc.number)}{' ' * 6}设备类别：{_text(doc.crane_type_name)}"
    _centred_text(items, number_line, 10.0, _MARGIN_X, _CONTENT_W, flow.block(15.0, after=2.0) - _ascent(10.0))
    if doc.license_id:
        _centred_text(items, f"电子证照标识：{_text(doc.license_id)}", 10.0, _MARGIN_X, _CONTENT_W,
                      flow.block(15.0, after=2.0) - _ascent(10.0))

    if doc.status_note:
        top = flow.block(29.0, after=6.0)
        x1, x2 = _MARGIN_X + 120.0, _MARGIN_X + _CONTENT_W - 120.0
        items.append(Rect(x1, top - 29.0, x2 - x1, 29.0, stroke=_NOTE_RED, line_width=1.0))
        _centred_text(items, _text(doc.status_note), 14.0, x1 + 4.0, x2 - x1 - 8.0,
                      top - 4.0 - _ascent(14.0), _NOTE_RED)

    holder = [("使用单位名称", doc.holder_name), ("统一社会信用代码", doc.holder_uscc),
              ("发证机关代码", doc.authority_uscc), ("有效期至", format_date(doc.valid_until))]
    sections = [("持证主体", _pair_rows(holder, size)), ("照面信息", _pair_rows(doc.face, size))]
    business = _pair_rows(doc.business, size)
    if business:
        sections.append(("业务信息", business))
    sections.append(("相关人员", _person_rows(doc.persons, size)))
    for heading, rows in sections:
        top = flow.block(15.75, before=5.0, after=2.0)
        items.append(Line(_MARGIN_X, top - 15.75, _MARGIN_X, top, _FRAME_RED, 3.0))
        items.append(Text(_MARGIN_X + 7.0, top - _ascent(10.5), heading, 10.5, _width(heading, 10.5), _INK))
        fills, texts, rules = [], [], []
        _table(flow, rows, m, fills, texts, rules)
        items += fills + texts + rules
    return items, flow.y


# Smaller cell type for the rare certificate whose values overflow the page at 8 pt (the old
# renderer started a second page instead).
_CELL_SIZES = (8.0, 7.5, 7.0, 6.5, 6.0, 5.5, 5.0)


def layout_certificate(doc: CertificateDocument) -> Page:
    """The certificate's face as one laid-out A4 page."""
    _font_ready()
    for size in _CELL_SIZES:
        items, bottom = _layout(doc, size)
        if bottom >= _CONTENT_BOTTOM:
            break
    else:
        raise FaceTooLong(f"证书 {doc.number} 的人员或文字过多，A4 一页放不下（表格已缩到最小字号），请精简后重新生成")
    return Page(
        width=_PAGE_W,
        height=_PAGE_H,
        items=tuple(items),
        font_name=FONT_NAME,
        font_path=str(FONT_PATH),
        seal_box=SEAL_BOX,
        title=f"{doc.title} {doc.number}",
        # the mark in the metadata too: a verifier tells the 已注销 rendition from the original without OCR
        keywords=(doc.status_note,) if doc.status_note else (),
    )
