"""The face font: the vendored WenQuanYi Micro Hei, registered once per process with reportlab.

Only TrueType-outline CJK fonts embed (stack-facts); WenQuanYi Micro Hei is one.  The layout measures
with it, the PDF embeds subsets of it, the seal draws its name with it.

Embedding is the costly part of a PDF: for every 256-glyph subset reportlab cuts a TrueType file out
of the 5 MB collection and deflates it — about half of drawing a certificate.  Most glyphs of a
certificate are the same every time (labels, headings, digits, the region and personnel-type names),
so :class:`SubsetCachingFont` (a) starts every certificate's document with those characters in a
fixed order, which makes its first subset identical from one certificate to the next, and (b) keeps
the deflated font file and ToUnicode map of the subsets it has made, keyed by their characters.
Only the glyphs of a certificate's own names and addresses are cut and deflated per document.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from pathlib import Path

from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont, makeToUnicodeCMap

__all__ = ["FONT_NAME", "FONT_PATH", "SubsetCachingFont", "register_fonts"]

FONT_PATH = Path(__file__).resolve().parent.parent / "static" / "fonts" / "wqy-microhei.ttc"
FONT_NAME = "WQYMicroHei"

_CACHE_SIZE = 64  # subsets kept; the seeded ones are hit by every certificate, the rest rarely


class SubsetCachingFont(TTFont):
    """A reportlab TrueType font that reuses the subsets it has embedded before (see module doc).

    :meth:`set_seed` sets the text that :meth:`start_document` puts first in a document, cut to
    whole subsets (256 codes) by :func:`fill_whole_subsets`; other documents (the seal) get none.
    The PDF is the same as with a plain ``TTFont`` but for the seeded glyphs, present even when a
    certificate does not print them.
    """

    def __init__(self, name: str, filename: str, **kwargs):
        super().__init__(name, filename, **kwargs)
        self._seed = ""
        self._lock = threading.Lock()  # the cache, and the face's file position while cutting
        self._embedded: OrderedDict[tuple, tuple[bytes, int, bytes]] = OrderedDict()

    def set_seed(self, seed: str) -> None:
        self._seed = fill_whole_subsets(self, seed)

    def start_document(self, doc) -> None:
        """Give *doc* (a reportlab ``PDFDocument`` that has not used this font) the seeded subsets."""
        if self._seed and doc not in self.state:
            self.splitString(self._seed, doc)

    def _subset_streams(self, base_font_name: str, subset: list[int]) -> tuple[bytes, int, bytes]:
        """(deflated font file, its length before deflation, deflated ToUnicode CMap) of a subset."""
        key = (base_font_name, tuple(subset))
        with self._lock:
            hit = self._embedded.get(key)
            if hit is not None:
                self._embedded.move_to_end(key)
                return hit
            font_file = self.face.makeSubset(subset)  # reads through the face's one file position
        cmap = makeToUnicodeCMap(base_font_name, subset)
        made = (zlib.compress(font_file), len(font_file), zlib.compress(cmap.encode("latin-1")))
        with self._lock:
            self._embedded[key] = made
            while len(self._embedded) > _CACHE_SIZE:
                self._embedded.popitem(last=False)
        return made

    def addObjects(self, doc):  # noqa: N802 — reportlab's TTFont.addObjects, with cached streams
        try:
            state = self.state[doc]
        except KeyError:
            state = self.state[doc] = TTFont.State(self._asciiReadable)
        state.frozen = 1
        face = self.face
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_font_name = (b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX))).decode("pdfdoc")
            font_file_z, font_file_len, cmap_z = self._subset_streams(base_font_name, subset)

            font_file = _deflated_stream(font_file_z)
            font_file.dictionary["Length1"] = font_file_len
            font_file_ref = doc.Reference(font_file, f"fontFile:{face.filename}({base_font_name})")
            flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
            descriptor = pdfdoc.PDFDictionary({
                "Type": "/FontDescriptor", "Ascent": face.ascent, "CapHeight": face.capHeight,
                "Descent": face.descent, "Flags": flags, "FontBBox": pdfdoc.PDFArray(face.bbox),
                "FontName": pdfdoc.PDFName(base_font_name), "ItalicAngle": face.italicAngle,
                "StemV": face.stemV, "FontFile2": font_file_ref, "MissingWidth": face.defaultWidth,
            })

            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.__Comment__ = f"Font {self.fontName} subset {n}"
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_font_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            pdf_font.Widths = pdfdoc.PDFArray(list(map(face.getCharWidth, subset)))
            pdf_font.ToUnicode = doc.Reference(_deflated_stream(cmap_z), "toUnicodeCMap:" + base_font_name)
            pdf_font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_font_name)
            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del self.state[doc]


def _deflated_stream(deflated: bytes) -> pdfdoc.PDFStream:
    """A stream whose content is already deflated (reportlab applies no filter when one is set)."""
    stream = pdfdoc.PDFStream(content=deflated)
    stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
    return stream


def fill_whole_subsets(font: TTFont, text: str) -> str:
    """The longest prefix of *text*'s distinct characters (that the font has) that ends exactly at
    a subset boundary, so that a certificate's own characters start a fresh subset."""
    chars = [ch for ch in dict.fromkeys(text) if ord(ch) in font.face.charToGlyph]
    probe = _Probe()
    state = TTFont.State(font._asciiReadable, font)
    font.state[probe] = state
    try:
        kept, last_boundary = [], 0
        for ch in chars:
            font.splitString(ch, probe)
            kept.append(ch)
            if state.nextCode % 256 == 0:
                last_boundary = len(kept)
        return "".join(kept[:last_boundary])
    finally:
        del font.state[probe]


class _Probe:
    """A stand-in document for counting subset codes (TTFont keeps its state per document)."""

    __slots__ = ("__weakref__",)


_font_lock = threading.Lock()
_font: SubsetCachingFont | None = None


def register_fonts() -> str:
    """Register the font with reportlab once per process (thread-safe); returns its name."""
    global _font
    if _font is not None:
        return FONT_NAME
    with _font_lock:
        if _font is None:
            if not FONT_PATH.is_file():  # pragma: no cover - packaging error
                raise FileNotFoundError(f"CJK font missing: {FONT_PATH}")
            font = SubsetCachingFont(FONT_NAME, str(FONT_PATH), subfontIndex=0)
            pdfmetrics.registerFont(font)
            _font = font
    return FONT_NAME


def font() -> SubsetCachingFont:
    """The registered face font."""
    register_fonts()
    return _font
