"""A bounded first look inside an .xlsx, before python-calamine reads it (pure: zip members in, facts out).

calamine allocates one grid from a sheet's first to its last cell holding a value before it yields a row: a
single cell at XFD1048576 asks for 512 GB and aborts the process natively. So the sheets' XML is streamed
here first and the position of every cell holding a value is checked; the scan stops at the first cell out
of bounds. The ``<dimension ref>`` a sheet declares is read but not trusted (it can lie, and calamine
ignores it); empty styled cells do not count (calamine skips them too). expat parses with DTDs refused,
so no entity can expand and no external entity is fetched.

expat calls Python once an element (some 4 s for a 10,000-row import), so a sheet is first scanned at C
speed: byte counts and regular expressions over the inflated stream, piece by piece (whole rows, never the
whole sheet). That fast scan accepts only the regular XML that Excel, WPS and openpyxl write — UTF-8, every
``<`` a tag it knows, every cell and row with its ``r`` first, no comment, DTD, CDATA, processing
instruction or namespace prefix in the sheet's data — and every count must agree (each ``<v>``/``<is>``
belongs to a cell it placed, each cell opened is closed). Anything else, and any sheet beyond the limits,
is scanned again from its start by expat, whose answer (and refusal) is the exact one.
"""
from __future__ import annotations

import posixpath
import re
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
    if stream.seekable():  # the exact scan can start again from the beginning when the fast one declines
        try:
            return _FastScan(max_rows, last_row, last_column).run(stream)
        except _Declined:
            stream.seek(0)
    return _scan_exact(stream, max_rows=max_rows, last_row=last_row, last_column=last_column)


class _Declined(Exception):
    """The fast scan cannot vouch for this sheet (irregular XML, or beyond a limit): the exact scan decides."""


_CHUNK = 4 << 20  # inflated bytes read at a time
_MAX_PIECE = 16 << 20  # a piece of sheet data without a row start in it: no spreadsheet writes one
_MAX_HEAD = 1 << 20  # what may precede <sheetData>
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:<\?xml(?P<attributes>[^<>?]*)\?>)?")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
# around <sheetData>: nothing the fast scan does not look into (a DTD, a comment, a cell outside the data)
_OUTSIDE = re.compile(rb"<[!?]|<(?:[\w.-]+:)?(?:c|row|v|is|f|sheetData)[\s/>]")
# inside it: a "<" that does not begin a tag of the regular cell data
_UNKNOWN_TAG = re.compile(rb"<(?!/|row |c |v>|v/>|is>|t>|t |t/>|f>|f |f/>)")
_CELL_REF = rb'<c r="([A-Za-z]{1,3})([1-9][0-9]{0,6})"'
_VALUED = re.compile(_CELL_REF + rb"[^<>]*>(?:<f[^<>]*(?:/>|>[^<]*</f>))?(?:<v>|<v/>|<is>)")
_FORMULA = re.compile(_CELL_REF + rb"(?:[^<>]*[^/<>])?><f[ />]")
_SELF_CLOSED_CELL = re.compile(_CELL_REF + rb"[^<>]*/>")
_ROW = re.compile(rb'<row r="[0-9]{1,7}"')


class _FastScan:
    """The C-speed scan of regular sheet XML (see the module's docstring); raises ``_Declined``."""

    def __init__(self, max_rows: int, last_row: int, last_column: int):
        self.limits = max_rows, last_row, last_column
        self.scan = SheetScan()
        self.rows = self.max_row = self.max_column = 0

    def run(self, stream: BinaryIO) -> SheetScan:
        head = b""
        while (start := head.find(b"<sheetData>")) < 0:
            chunk = stream.read(_CHUNK)
            if not chunk or len(head) > _MAX_HEAD:
                raise _Declined  # no sheet data, or an empty or prefixed <sheetData/>: the exact scan's case
            head += chunk
        self._head(head[:start])
        buffer = head[start + len(b"<sheetData>"):]
        while (end := buffer.find(b"</sheetData>")) < 0:
            chunk = stream.read(_CHUNK)
            if not chunk:
                raise _Declined  # unterminated
            buffer += chunk
            cut = buffer.rfind(b"<row ")
            if cut > 0:
                self._data(buffer[:cut])
                buffer = buffer[cut:]
            elif len(buffer) > _MAX_PIECE:
                raise _Declined
        self._data(buffer[:end])
        tail = buffer[end + len(b"</sheetData>"):]
        self._outside(tail)
        while chunk := stream.read(_CHUNK):  # the rest of the sheet, looked at in overlapping pieces
            tail = tail[-64:] + chunk
            self._outside(tail)
        scan = self.scan
        scan.rows, scan.last_row, scan.last_column = self.rows, self.max_row, self.max_column
        return scan

    def _head(self, head: bytes) -> None:
        prolog = _PROLOG.match(head)
        encoding = _ENCODING.search(prolog.group("attributes") or b"")
        if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _Declined
        rest = head[prolog.end():]
        if not rest.lstrip().startswith(b"<"):
            raise _Declined  # UTF-16, or text before the root element
        self._outside(rest)
        dimension = re.search(rb'<dimension ref="([A-Za-z0-9:]*)"', rest)
        if dimension:
            self.scan.dimension = dimension.group(1).decode("ascii")

    @staticmethod
    def _outside(part: bytes) -> None:
        if _OUTSIDE.search(part):
            raise _Declined

    def _data(self, data: bytes) -> None:
        """Whole rows of <sheetData>: counted, placed and bounded, or ``_Declined``."""
        count = data.count
        cells = count(b"<c ")
        row_starts = count(b"<row ")
        if (_UNKNOWN_TAG.search(data) or count(b'<c r="') != cells or count(b' r="') != cells + row_starts
                or len(_ROW.findall(data)) != row_starts):
            raise _Declined  # a tag it does not know, an r not first, not a number, or twice
        self_closed = len(_SELF_CLOSED_CELL.findall(data)) if count(b"/>") else 0
        if count(b"</c>") != cells - self_closed:
            raise _Declined
        valued = _VALUED.findall(data)
        if len(valued) != count(b"<v>") + count(b"<v/>") + count(b"<is>"):
            raise _Declined  # a value the pattern did not place
        formulas = count(b"<f")
        if formulas:
            found = _FORMULA.findall(data)
            if len(found) != formulas:
                raise _Declined
            room = MAX_FORMULAS - len(self.scan.formulas)
            self.scan.formulas += [(int(digits), _column_number(letters.decode("ascii")))
                                   for letters, digits in found[:room]]
        if not valued:
            return
        max_rows, last_row, last_column = self.limits
        # rows holding values, counted once per piece (a row split over two pieces counts twice: never fewer)
        rows = {digits for _, digits in valued}
        self.rows += len(rows)
        self.max_row = max(self.max_row, max(map(int, rows)))
        self.max_column = max(self.max_column, *(_column_number(letters.decode("ascii"))
                                                 for letters in {letters for letters, _ in valued}))
        if self.rows > max_rows or self.max_row > last_row or self.max_column > last_column:
            raise _Declined  # the exact scan names the first cell beyond


def _scan_exact(stream: BinaryIO, *, max_rows: int, last_row: int, last_column: int) -> SheetScan:
    """The scan by expat, element by element: any XML expat accepts, cells placed as calamine places them."""
    scan = SheetScan()
    formulas = scan.formulas
    # Positions as calamine places cells: at a cell's r when given, else one right of the previous cell in the
    # row element's row; a row element is at its r when given, else one below the previous row element.
    row_element = row = column = 0
    counted_row = 0  # the row last counted as holding a value
    counted = set()  # every row counted (bounded: the scan stops past max_rows)
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
                if row not in counted:  # rows out of order count once, as calamine reads them
                    counted.add(row)
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
