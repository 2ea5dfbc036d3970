"""A bounded first look inside an .xlsx, before python-calamine reads it (pure: zip members in, facts out).

calamine allocates one grid from a sheet's first to its last cell holding a value before it yields a row: a
single cell at XFD1048576 asks for 512 GB and aborts the process natively. So the sheets' XML is streamed
here first and the position of every cell holding a value is checked; the scan stops at the first cell out
of bounds. The ``<dimension ref>`` a sheet declares is read but not trusted (it can lie, and calamine
ignores it); empty styled cells do not count (calamine skips them too). expat parses with DTDs refused,
so no entity can expand and no external entity is fetched.
"""
from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO
from xml.parsers import expat

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAX_FORMULAS = 10_000  # formula cells remembered per sheet (a report names them; more are not useful)


class XlsxUnreadable(Exception):
    """The workbook's XML is not what a spreadsheet program writes (malformed, a DTD, a missing part)."""


@dataclass
class SheetBeyond(Exception):
    """A sheet holds more than the limits allow: ``kind`` 'rows' (too many rows with values), 'row' or
    'column' (a cell far outside the template, ``ref`` e.g. 'XFD1048576')."""

    kind: str
    ref: str
    rows: int

    def __str__(self) -> str:
        return f"{self.kind} {self.ref} ({self.rows} rows)"


@dataclass
class SheetScan:
    """What a sheet holds: rows with values, the last row and column used, the formula cells (1-based)."""

    dimension: str = ""
    rows: int = 0
    last_row: int = 0
    last_column: int = 0
    formulas: list[tuple[int, int]] = field(default_factory=list)


def column_letters(n: int) -> str:
    """1 → 'A', 27 → 'AA'."""
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, column: int) -> str:
    """(1, 1) → 'A1'."""
    return f"{column_letters(column)}{row}"


_DIGITS = "0123456789"


@lru_cache(maxsize=4096)
def _column_number(letters: str) -> int:
    """'AB' → 28; lower case as calamine reads it; anything else is not a reference."""
    if not letters or not letters.isascii() or not letters.isalpha():
        raise XlsxUnreadable(f"invalid column {letters!r}")
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def _parse_ref(ref: str) -> tuple[int, int]:
    """'AB12' → (12, 28). Runs once a cell: string methods and a cached column, no regular expression."""
    letters = ref.rstrip(_DIGITS)
    digits = ref[len(letters):]
    if not digits:
        raise XlsxUnreadable(f"invalid cell reference {ref!r}")
    return int(digits), _column_number(letters)


def _parse_row(ref: str) -> int:
    if not ref.isdigit() or not ref.isascii():
        raise XlsxUnreadable(f"invalid row number {ref!r}")
    return int(ref)


def _parser(namespaces: bool = False):
    parser = expat.ParserCreate(namespace_separator=" " if namespaces else None)

    def refuse(*_):
        raise XlsxUnreadable("DTDs and entities are not allowed in a workbook")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _feed(parser, stream: BinaryIO) -> None:
    try:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as e:
        raise XlsxUnreadable(f"malformed XML: {e}") from None


def _attributes(zf: zipfile.ZipFile, member: str, element: str, max_bytes: int) -> list[dict[str, str]]:
    """The attributes of every ``element`` (local name) in a small XML part, names as 'namespace local'."""
    found = []

    def start(name, attrs):
        if name.rpartition(" ")[2] == element:
            found.append(attrs)

    parser = _parser(namespaces=True)
    parser.StartElementHandler = start
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise XlsxUnreadable(f"missing part {member}") from None
    if info.file_size > max_bytes:
        raise XlsxUnreadable(f"part {member} too large")
    with zf.open(info) as stream:
        _feed(parser, stream)
    return found


def sheet_members(zf: zipfile.ZipFile, max_bytes: int = 16 << 20) -> dict[str, str]:
    """Sheet name (stripped) → its XML member, from xl/workbook.xml and its relationships."""
    targets = {rel.get("Id"): rel.get("Target", "")
               for rel in _attributes(zf, "xl/_rels/workbook.xml.rels", "Relationship", max_bytes)}
    members = {}
    for sheet in _attributes(zf, "xl/workbook.xml", "sheet", max_bytes):
        target = targets.get(sheet.get(f"{REL_NS} id"), "")
        if target:
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            members.setdefault((sheet.get("name") or "").strip(), member)
    return members


def scan_sheet(stream: BinaryIO, *, max_rows: int, last_row: int, last_column: int) -> SheetScan:
    """Stream one sheet's XML; raises ``SheetBeyond`` as soon as more than ``max_rows`` rows hold values or a
    value sits beyond ``last_row`` / ``last_column``, ``XlsxUnreadable`` for XML no spreadsheet writes."""
    scan = SheetScan()
    formulas = scan.formulas
    # Positions as calamine places cells: at a cell's r when given, else one right of the previous cell in the
    # row element's row; a row element is at its r when given, else one below the previous row element.
    row_element = row = column = 0
    counted_row = 0  # the row last counted as holding a value
    rows = max_row = max_column = 0

    def start(name, attrs):
        nonlocal row_element, row, column, counted_row, rows, max_row, max_column
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "t":  # the text of an inline string: a third of all elements, nothing to see
            return
        if name == "c":
            ref = attrs.get("r")
            if ref:
                row, column = _parse_ref(ref)
            else:
                row = row_element
                column += 1
        elif name == "v" or name == "is":
            if row != counted_row:
                counted_row = row
                rows += 1
                if rows > max_rows:
                    raise SheetBeyond("rows", cell_ref(row, column or 1), rows)
            if row > max_row:
                max_row = row
                if row > last_row:
                    raise SheetBeyond("row", cell_ref(row, column or 1), rows)
            if column > max_column:
                max_column = column
                if column > last_column:
                    raise SheetBeyond("column", cell_ref(row or 1, column), rows)
        elif name == "row":
            ref = attrs.get("r")
            row_element = _parse_row(ref) if ref else row_element + 1
            row, column = row_element, 0
        elif name == "f":
            if len(formulas) < MAX_FORMULAS:
                formulas.append((row, column))
        elif name == "dimension":
            scan.dimension = attrs.get("ref", "")

    parser = _parser()
    parser.StartElementHandler = start
    _feed(parser, stream)
    scan.rows, scan.last_row, scan.last_column = rows, max_row, max_column
    return scan
