"""The OFD rendition (GB/T 33190-2016) of a laid-out certificate page.

Plain values in, bytes out: no Flask, no database. :func:`build_ofd` turns a
:class:`~portal.certificates.page.Page` into an :class:`OfdPackage` (the files of the OFD zip, by
path); :func:`ofd_from_page` gives the unsigned OFD bytes, and :mod:`.ofd_seal` adds the electronic
seal to a package before it is zipped. The package::

    OFD.xml                              entry: DocInfo (title, keywords, CustomData), DocRoot, Signatures
    Doc_0/Document.xml                   CommonData (MaxUnitID, PageArea, PublicRes, DocumentRes), Pages
    Doc_0/PublicRes.xml                  the font (BaseLoc Res)
    Doc_0/DocumentRes.xml                the images (MultiMedia, PNG)
    Doc_0/Res/font_<id>.ttf              the page's font, subset to the characters of the page
    Doc_0/Res/image_<id>.png
    Doc_0/Pages/Page_0/Content.xml       one Layer: TextObject (text as text, TextCode with DeltaX from the
                                         font's advances), PathObject (rects and lines), ImageObject

Units: the page is in PDF points with the origin bottom-left; OFD is in millimetres with the origin
top-left (``y_mm = (page.height - y) * 25.4 / 72``). Colours are RGB 0–255. Elements carry the
``ofd:`` prefix on the namespace http://www.ofdspec.org/2016, as OFD producers write it (easyofd, for
one, reads only that form). Element order follows the schema of GB/T 33190-2016 (CT_DocInfo,
CT_CommonData, CT_PageBlock / CT_TextObject / CT_PathObject / CT_ImageObject).

The embedded font: a subset of the page's font made per document (:mod:`.ttf_subset`, ~1.5 ms for a
certificate, ~30 KB) rather than the 5 MB collection.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping
from xml.sax.saxutils import escape, quoteattr

from .page import Image, Line, Page, Rect, Text
from .ttf_subset import FontProgram, font_program

__all__ = ["OFD_NS", "OfdPackage", "build_ofd", "mm", "ofd_from_page"]

OFD_NS = "http://www.ofdspec.org/2016"
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
MM_PER_PT = 25.4 / 72.0
DOC_ROOT = "Doc_0/Document.xml"
SIGNATURES_PATH = "Doc_0/Signs/Signatures.xml"
CONTENT_PATH = "Doc_0/Pages/Page_0/Content.xml"
CREATOR = "证照管理系统"
CREATOR_VERSION = "1.0"

# Characters XML 1.0 cannot carry (controls other than tab/newline/CR, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STORED = (".png", ".dat", ".esl")  # already compressed


def mm(points: float) -> float:
    return points * MM_PER_PT


@lru_cache(maxsize=8192)  # a page repeats its coordinates and advances many times
def _n(value: float) -> str:
    """A number as OFD writes it: at most 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ofd_box(x: float, y: float, w: float, h: float) -> str:
    return f"{_n(x)} {_n(y)} {_n(w)} {_n(h)}"


@lru_cache(maxsize=256)
def _rgb(color) -> str:
    return " ".join(str(max(0, min(255, round(c * 255)))) for c in color)


def xml_text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def xml_attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("", value))


@dataclass
class OfdPackage:
    """The files of an OFD package by path (no leading '/'), in writing order, before zipping."""

    files: dict[str, bytes]
    page_id: int
    seal_box_mm: tuple[float, float, float, float]  # x, y (top-left origin), w, h of the page's seal area
    created: dt.datetime

    def to_bytes(self) -> bytes:
        """The OFD file (a zip; XML and the font deflated, pictures and signature data stored)."""
        out = io.BytesIO()
        stamp = self.created.timetuple()[:6]
        with zipfile.ZipFile(out, "w") as archive:
            for path, data in self.files.items():
                entry = zipfile.ZipInfo(path, date_time=stamp)
                entry.compress_type = zipfile.ZIP_STORED if path.endswith(_STORED) else zipfile.ZIP_DEFLATED
                archive.writestr(entry, data, compresslevel=1)  # level 6 costs 3× the time for 5 % less
        return out.getvalue()


class _Ids:
    def __init__(self):
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


def _delta_x(text: str, font: FontProgram, size_mm: float) -> str | None:
    """DeltaX of a TextCode: the advance after each glyph but the last, runs written as ``g N v``."""
    if len(text) < 2:
        return None
    values = [_n(font.advance(c) * size_mm / font.units_per_em) for c in text[:-1]]
    parts, i = [], 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i]:
            j += 1
        parts.append(f"g {j - i} {values[i]}" if j - i > 1 else values[i])
        i = j
    return " ".join(parts)


def _text_object(item: Text, oid: int, font_id: int, font: FontProgram, page_h: float) -> str:
    text = _NOT_XML.sub("", item.text)
    size = mm(item.size)
    ascent = size * font.ascent / font.units_per_em
    descent = size * -font.descent / font.units_per_em
    width = max(mm(item.width), font.text_width(text, size)) + size * 0.1
    top = mm(page_h - item.y) - ascent
    delta = _delta_x(text, font, size)
    code_attrs = f'X="0" Y="{_n(ascent)}"' + (f' DeltaX="{delta}"' if delta else "")
    return (f'<ofd:TextObject ID="{oid}" Boundary="{ofd_box(mm(item.x), top, width, ascent + descent)}" '
            f'Font="{font_id}" Size="{_n(size)}"><ofd:FillColor Value="{_rgb(item.color)}"/>'
            f'<ofd:TextCode {code_attrs}>{escape(text)}</ofd:TextCode></ofd:TextObject>')


def _rect_object(item: Rect, oid: int, page_h: float) -> str:
    lw = mm(item.line_width) if item.stroke is not None else 0.0
    w, h = mm(item.w), mm(item.h)
    x, top = mm(item.x) - lw, mm(page_h - item.y - item.h) - lw
    path = f"M {_n(lw)} {_n(lw)} L {_n(lw + w)} {_n(lw)} L {_n(lw + w)} {_n(lw + h)} L {_n(lw)} {_n(lw + h)} C"
    attrs = [f'ID="{oid}"', f'Boundary="{ofd_box(x, top, w + 2 * lw, h + 2 * lw)}"']
    if item.stroke is not None:
        attrs.append(f'LineWidth="{_n(lw)}"')
    else:
        attrs.append('Stroke="false"')
    if item.fill is not None:
        attrs.append('Fill="true"')
    colors = (f'<ofd:StrokeColor Value="{_rgb(item.stroke)}"/>' if item.stroke is not None else "") + \
             (f'<ofd:FillColor Value="{_rgb(item.fill)}"/>' if item.fill is not None else "")
    return (f'<ofd:PathObject {" ".join(attrs)}>{colors}<ofd:AbbreviatedData>{path}</ofd:AbbreviatedData>'
            '</ofd:PathObject>')


def _line_object(item: Line, oid: int, page_h: float) -> str:
    lw = mm(item.line_width)
    x1, y1, x2, y2 = mm(item.x1), mm(page_h - item.y1), mm(item.x2), mm(page_h - item.y2)
    left, top = min(x1, x2) - lw, min(y1, y2) - lw
    path = f"M {_n(x1 - left)} {_n(y1 - top)} L {_n(x2 - left)} {_n(y2 - top)}"
    return (f'<ofd:PathObject ID="{oid}" Boundary="{ofd_box(left, top, abs(x2 - x1) + 2 * lw, abs(y2 - y1) + 2 * lw)}" '
            f'LineWidth="{_n(lw)}"><ofd:StrokeColor Value="{_rgb(item.color)}"/>'
            f'<ofd:AbbreviatedData>{path}</ofd:AbbreviatedData></ofd:PathObject>')


def _image_object(item: Image, oid: int, resource_id: int, page_h: float) -> str:
    w, h = mm(item.w), mm(item.h)
    return (f'<ofd:ImageObject ID="{oid}" Boundary="{ofd_box(mm(item.x), mm(page_h - item.y - item.h), w, h)}" '
            f'CTM="{_n(w)} 0 0 {_n(h)} 0 0" ResourceID="{resource_id}"/>')


def _doc_info(page: Page, doc_id: str, created: dt.datetime, author: str, custom_data: Mapping[str, str]) -> str:
    parts = [f"<ofd:DocID>{doc_id}</ofd:DocID>"]
    if page.title:
        parts.append(f"<ofd:Title>{xml_text(page.title)}</ofd:Title>")
    if author:
        parts.append(f"<ofd:Author>{xml_text(author)}</ofd:Author>")
    parts.append(f"<ofd:CreationDate>{created:%Y-%m-%d}</ofd:CreationDate>")
    if page.keywords:
        parts.append("<ofd:Keywords>" + "".join(f"<ofd:Keyword>{xml_text(k)}</ofd:Keyword>" for k in page.keywords)
                     + "</ofd:Keywords>")
    parts.append(f"<ofd:Creator>{CREATOR}</ofd:Creator><ofd:CreatorVersion>{CREATOR_VERSION}</ofd:CreatorVersion>")
    if custom_data:
        parts.append("<ofd:CustomDatas>" + "".join(
            f"<ofd:CustomData Name={xml_attr(k)}>{xml_text(v)}</ofd:CustomData>" for k, v in custom_data.items())
            + "</ofd:CustomDatas>")
    return "<ofd:DocInfo>" + "".join(parts) + "</ofd:DocInfo>"


def build_ofd(page: Page, *, created: dt.datetime | None = None, doc_id: str | None = None, author: str = "",
              custom_data: Mapping[str, str] | None = None, signed: bool = False) -> OfdPackage:
    """The OFD package of *page*; *signed* makes OFD.xml name Doc_0/Signs/Signatures.xml (for :mod:`.ofd_seal`)."""
    created = created or dt.datetime.now(dt.timezone.utc)
    font = font_program(str(page.font_path), 0)
    page_w, page_h = mm(page.width), mm(page.height)
    ids = _Ids()
    font_id = ids.next()

    images: dict[str, tuple[int, bytes]] = {}  # sha256 → (resource id, png); one resource per distinct picture
    for item in page.items:
        if isinstance(item, Image):
            digest = hashlib.sha256(item.png).hexdigest()
            if digest not in images:
                images[digest] = (ids.next(), item.png)

    page_id, layer_id = ids.next(), ids.next()
    objects: list[str] = []
    for item in page.items:
        if isinstance(item, Text):
            if _NOT_XML.sub("", item.text).strip():  # nothing to draw or find in a blank text
                objects.append(_text_object(item, ids.next(), font_id, font, page.height))
        elif isinstance(item, Rect):
            if item.stroke is not None or item.fill is not None:
                objects.append(_rect_object(item, ids.next(), page.height))
        elif isinstance(item, Line):
            objects.append(_line_object(item, ids.next(), page.height))
        elif isinstance(item, Image):
            resource_id = images[hashlib.sha256(item.png).hexdigest()][0]
            objects.append(_image_object(item, ids.next(), resource_id, page.height))

    ns = f'xmlns:ofd="{OFD_NS}"'
    box = f"0 0 {_n(page_w)} {_n(page_h)}"
    files: dict[str, bytes] = {}
    files["OFD.xml"] = (
        f'{XML_DECL}<ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody>'
        f'{_doc_info(page, doc_id or uuid.uuid4().hex, created, author, custom_data or {})}'
        f'<ofd:DocRoot>{DOC_ROOT}</ofd:DocRoot>'
        + (f"<ofd:Signatures>{SIGNATURES_PATH}</ofd:Signatures>" if signed else "")
        + "</ofd:DocBody></ofd:OFD>").encode()
    files[DOC_ROOT] = (
        f'{XML_DECL}<ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>{ids.last}</ofd:MaxUnitID>'
        f'<ofd:PageArea><ofd:PhysicalBox>{box}</ofd:PhysicalBox></ofd:PageArea>'
        '<ofd:PublicRes>PublicRes.xml</ofd:PublicRes>'
        + ('<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>' if images else "")
        + f'</ofd:CommonData><ofd:Pages><ofd:Page ID="{page_id}" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        '</ofd:Document>').encode()
    font_file = f"font_{font_id}.ttf"
    files["Doc_0/PublicRes.xml"] = (
        f'{XML_DECL}<ofd:Res {ns} BaseLoc="Res"><ofd:Fonts><ofd:Font ID="{font_id}" '
        f'FontName={xml_attr(font.family_name)} FamilyName={xml_attr(font.family_name)}>'
        f'<ofd:FontFile>{font_file}</ofd:FontFile></ofd:Font></ofd:Fonts></ofd:Res>').encode()
    if images:
        files["Doc_0/DocumentRes.xml"] = (
            f'{XML_DECL}<ofd:Res {ns} BaseLoc="Res"><ofd:MultiMedias>' + "".join(
                f'<ofd:MultiMedia ID="{rid}" Type="Image" Format="PNG"><ofd:MediaFile>image_{rid}.png'
                f'</ofd:MediaFile></ofd:MultiMedia>' for rid, _ in images.values())
            + "</ofd:MultiMedias></ofd:Res>").encode()
    files[f"Doc_0/Res/{font_file}"] = font.subset("".join(i.text for i in page.items if isinstance(i, Text)))
    for rid, png in images.values():
        files[f"Doc_0/Res/image_{rid}.png"] = png
    files[CONTENT_PATH] = (
        f'{XML_DECL}<ofd:Page {ns}><ofd:Area><ofd:PhysicalBox>{box}</ofd:PhysicalBox></ofd:Area>'
        f'<ofd:Content><ofd:Layer ID="{layer_id}" Type="Body">{"".join(objects)}</ofd:Layer></ofd:Content>'
        '</ofd:Page>').encode()

    x1, y1, x2, y2 = page.seal_box
    seal_box_mm = (mm(x1), mm(page.height - y2), mm(x2 - x1), mm(y2 - y1))
    return OfdPackage(files=files, page_id=page_id, seal_box_mm=seal_box_mm, created=created)


def ofd_from_page(page: Page, **options) -> bytes:
    """The unsigned OFD file of *page* (options as :func:`build_ofd`)."""
    return build_ofd(page, **options).to_bytes()

