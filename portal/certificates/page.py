"""A laid-out certificate page: drawing primitives in PDF points, origin bottom-left.

The face of a certificate is laid out once into a :class:`Page`; each rendition draws the same page —
the PDF with reportlab, the OFD (GB/T 33190) as XML — so the two copies cannot drift apart. Plain data:
no Flask, no database, no renderer imports.

Conventions for every renderer:

* coordinates are PDF points (1/72 in) with the origin at the bottom-left of the page; an OFD writer
  converts to millimetres with the origin at the top-left (``y_mm = (page.height - y) * 25.4 / 72``);
* a :class:`Text` is one line: ``x`` is the left edge of its first glyph, ``y`` its baseline, ``width``
  its measured advance in the page's font at ``size`` (renderers need not measure);
* colours are RGB tuples of floats 0–1;
* ``Page.seal_box`` is the (x1, y1, x2, y2) area left empty for the visible seal.
"""
from __future__ import annotations

from dataclasses import dataclass, field

Color = tuple[float, float, float]
BLACK: Color = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text in the page font."""

    x: float
    y: float
    text: str
    size: float
    width: float
    color: Color = BLACK


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle, stroked and/or filled (None = not)."""

    x: float
    y: float
    w: float
    h: float
    stroke: Color | None = BLACK
    fill: Color | None = None
    line_width: float = 0.5


@dataclass(frozen=True, slots=True)
class Line:
    """A straight line."""

    x1: float
    y1: float
    x2: float
    y2: float
    color: Color = BLACK
    line_width: float = 0.5


@dataclass(frozen=True, slots=True)
class Image:
    """A PNG image placed in the box (x, y) – (x + w, y + h)."""

    x: float
    y: float
    w: float
    h: float
    png: bytes


Item = Text | Rect | Line | Image


@dataclass(frozen=True)
class Page:
    """One page: its size, what is drawn on it (in drawing order), the font, the seal's place."""

    width: float
    height: float
    items: tuple[Item, ...]
    font_name: str
    font_path: str
    seal_box: tuple[float, float, float, float]
    title: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def texts(self) -> list[str]:
        """Every text of the page in drawing order (what a reader should find)."""
        return [item.text for item in self.items if isinstance(item, Text)]
