"""The certificate face as the portal rendered it until 2026-12: xhtml2pdf over an HTML template.

Kept only as the oracle of tests/certificates/test_face_rendition.py (the product draws the face
from portal.certificates.layout with reportlab's canvas).  Frozen on purpose: do not "improve" it,
or the comparison stops showing that the face is unchanged.  Two changes from the product original,
both the face's privacy (issue 12) that the new face also has: no 联系电话 column (its 15 % given to
人员类型 +3, 姓名 +2, 身份证号码 +4, 证书编号 +6), and callers pass masked ID numbers.
The template sits beside this file.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2
import segno

from portal.certificates.layout import CertificateDocument  # the product's document: same fields

__all__ = [
    "CERTIFICATE_TITLE",
    "CertificateDocument",
    "FONT_NAME",
    "FONT_PATH",
    "PAGE_SIZE",
    "PdfRenderError",
    "SEAL_BOX",
    "format_date",
    "qr_png",
    "register_fonts",
    "render_certificate_pdf",
]

CERTIFICATE_TITLE = "建筑起重机械使用登记证书"

FONT_PATH = Path(__file__).resolve().parents[3] / "portal" / "static" / "fonts" / "wqy-microhei.ttc"
FONT_NAME = "WQYMicroHei"
TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATE_NAME = "certificate.html"

# --------------------------------------------------------------------------
# Page geometry (PDF points, origin bottom-left).  The template's @frame
# definitions are generated from these numbers, so SEAL_BOX always matches the
# empty area the page leaves for the seal.
# --------------------------------------------------------------------------
PAGE_SIZE = (595.28, 841.89)  # A4
_PAGE_W, _PAGE_H = PAGE_SIZE
_MARGIN_X = 48.0
_CONTENT_TOP = 40.0  # distance of the main frame from the top edge
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

The template leaves this area empty, at the right of the 发证机关 / 发证日期
lines; :func:`portal.certificates.signing.sign_certificate_pdf` puts the
visible signature (the red seal) there."""

_CONTENT_BOTTOM = SEAL_BOX[3] + 8.0  # PDF y where the main frame ends
# 发证机关 / 发证日期 lines: left of the seal box, right-aligned against it.
_AUTH_BOX = (_MARGIN_X + 104.0, _FOOTER_Y1, SEAL_BOX[0] - 4.0, SEAL_BOX[3])
# QR code + caption, bottom left.
_QR_SIZE = 92.0
_QR_BOX = (_MARGIN_X + 4.0, _FOOTER_Y1, _MARGIN_X + 100.0, SEAL_BOX[3])


class PdfRenderError(RuntimeError):
    """xhtml2pdf reported errors while rendering the certificate."""


# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------
_font_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> str:
    """Register the CJK font with reportlab/xhtml2pdf once per process.

    Returns the reportlab font name.  Safe to call from many threads.
    """
    global _fonts_ready
    if _fonts_ready:
        return FONT_NAME
    with _font_lock:
        if _fonts_ready:
            return FONT_NAME
        from reportlab import rl_config
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.platypus import tables
        from xhtml2pdf import default as x2p_default

        if not FONT_PATH.is_file():  # pragma: no cover - packaging error
            raise FileNotFoundError(f"CJK font missing: {FONT_PATH}")
        try:
            pdfmetrics.getFont(FONT_NAME)
        except KeyError:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0))
        # One weight only: bold/italic map to the same face (no fake bold).
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FONT_NAME, bold, italic, FONT_NAME)
        key = FONT_NAME.lower()
        x2p_default.DEFAULT_FONT[key] = FONT_NAME
        for alias in ("wqy-microhei", "wenquanyi micro hei"):
            x2p_default.DEFAULT_FONT[alias] = FONT_NAME
        # Without these two, every PDF lists an unembedded Helvetica.
        rl_config.canvas_basefontname = FONT_NAME
        tables.CellStyle.fontname = FONT_NAME
        _fonts_ready = True
    return FONT_NAME


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def format_date(value: dt.date | None, empty: str = "长期有效") -> str:
    """``2024-03-05`` → ``2024年03月05日``; None → *empty*."""
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.year}年{value.month:02d}月{value.day:02d}日"


def qr_png(url: str, scale: int = 4) -> bytes:
    """The verification URL as a QR-code PNG (error correction M)."""
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


def _qr_data_uri(url: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(url)).decode("ascii")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return format_date(value, "")
    return str(value)


# Table geometry (must match the width="..%" attributes in the template).
_CONTENT_W = _PAGE_W - 2 * _MARGIN_X
_CELL_FONT_SIZE = 8.0
_CELL_PADDING = 6.0  # left + right
_LABEL_PCT, _VALUE_PCT, _WIDE_PCT = 23, 27, 77
_PERSON_COLS = (  # key, width %
    ("index", 5),
    ("type", 32),
    ("name", 13),
    ("id_number", 25),
    ("cert_no", 25),
)


def _fits(text: str, pct: float) -> bool:
    """Does *text* fit on one line of a cell *pct* % of the content width wide?"""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    room = _CONTENT_W * pct / 100.0 - _CELL_PADDING - 2.0
    return stringWidth(text, FONT_NAME, _CELL_FONT_SIZE) <= room


def _cell(text: str, pct: float) -> dict[str, Any]:
    """A table cell: its text and whether it needs CJK line breaking.

    CJK breaking (break anywhere) is costly in xhtml2pdf, so only the cells
    whose text does not fit on one line get it; the others cannot overflow.
    """
    return {"text": text, "wrap": not _fits(text, pct)}


def _pair_rows(items: Sequence[tuple[str, Any]]) -> list[list[dict[str, Any]]]:
    """Lay (label, value) pairs out two per row; a value too long for half a
    row gets a whole one.  Rows are lists of cells: label, value[, label, value].

    Order is preserved: a short item waiting for a partner before a long one
    gets a row of its own.
    """
    rows: list[list[dict[str, Any]]] = []
    pending: tuple[str, str] | None = None

    def half(item):
        return [_cell(item[0], _LABEL_PCT), _cell(item[1], _VALUE_PCT)]

    def whole(item):
        return [_cell(item[0], _LABEL_PCT), _cell(item[1], _WIDE_PCT)]

    for label, value in items:
        item = (_text(label), _text(value))
        # Long values (more than two lines in half a row) get a full row.
        if not _fits(item[1], _VALUE_PCT * 2 - 4):
            if pending is not None:
                rows.append(whole(pending))
                pending = None
            rows.append(whole(item))
        elif pending is None:
            pending = item
        else:
            rows.append(half(pending) + half(item))
            pending = None
    if pending is not None:
        rows.append(whole(pending))
    return rows


def _person_rows(persons: Sequence[Mapping[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    widths = dict(_PERSON_COLS)
    rows = []
    for i, p in enumerate(persons, start=1):
        type_name, code = _text(p.get("type_name")), _text(p.get("type_code"))
        values = {
            "index": str(i),
            "type": f"{type_name}（{code}）" if code else type_name,
            "name": _text(p.get("name")),
            "id_number": _text(p.get("id_number")),
            "cert_no": _text(p.get("cert_no")),
        }
        rows.append({k: _cell(v, widths[k]) for k, v in values.items()})
    return rows


# --------------------------------------------------------------------------
# Template
# --------------------------------------------------------------------------
_env_lock = threading.Lock()
_env: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    global _env
    if _env is None:
        with _env_lock:
            if _env is None:
                _env = jinja2.Environment(
                    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                    autoescape=True,  # every value prints literally, escaped
                    undefined=jinja2.StrictUndefined,
                    trim_blocks=True,
                    lstrip_blocks=True,
                )
    return _env


def _frame(box: tuple[float, float, float, float]) -> dict[str, float]:
    """PDF box (x1, y1, x2, y2) → CSS frame position (left/top/width/height)."""
    x1, y1, x2, y2 = box
    return {
        "left": round(x1, 2),
        "top": round(_PAGE_H - y2, 2),
        "width": round(x2 - x1, 2),
        "height": round(y2 - y1, 2),
    }


def render_html(doc: CertificateDocument) -> str:
    """The certificate as the HTML that xhtml2pdf renders (for debugging)."""
    register_fonts()  # text widths are measured with the embedded font
    geometry = {
        "content": _frame((_MARGIN_X, _CONTENT_BOTTOM, _PAGE_W - _MARGIN_X, _PAGE_H - _CONTENT_TOP)),
        "seal": _frame(SEAL_BOX),
        "authority": _frame(_AUTH_BOX),
        "qr": _frame(_QR_BOX),
        "qr_size": _QR_SIZE,
        "border": {
            "x": 24.0,
            "y": 24.0,
            "w": round(_PAGE_W - 48.0, 2),
            "h": round(_PAGE_H - 48.0, 2),
        },
    }
    return _environment().get_template(TEMPLATE_NAME).render(
        font=FONT_NAME,
        g=geometry,
        label_pct=_LABEL_PCT,
        value_pct=_VALUE_PCT,
        wide_pct=_WIDE_PCT,
        person_cols=_PERSON_COLS,
        holder_rows=_pair_rows(
            [
                ("使用单位名称", doc.holder_name),
                ("统一社会信用代码", doc.holder_uscc),
                ("发证机关代码", doc.authority_uscc),
                ("有效期至", format_date(doc.valid_until)),
            ]
        ),
        title=doc.title,
        number=doc.number,
        holder_name=doc.holder_name,
        holder_uscc=doc.holder_uscc,
        crane_type_name=doc.crane_type_name,
        face_rows=_pair_rows(doc.face),
        business_rows=_pair_rows(doc.business),
        persons=_person_rows(doc.persons),
        authority_name=doc.authority_name,
        authority_uscc=doc.authority_uscc,
        issue_date=format_date(doc.issue_date, ""),
        valid_until=format_date(doc.valid_until),
        qr_src=_qr_data_uri(doc.verify_url),
        status_note=doc.status_note,
    )


def render_certificate_pdf(doc: CertificateDocument) -> bytes:
    """Render *doc* to PDF bytes (A4, one page, CJK font embedded, unsigned)."""
    register_fonts()
    from xhtml2pdf import pisa

    html = render_html(doc)
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        raise PdfRenderError(f"xhtml2pdf reported {status.err} error(s) rendering {doc.number!r}")
    return out.getvalue()
