"""Exports as .xlsx, produced a chunk at a time: bounded memory and first bytes at once, whatever the rows.

A workbook is a zip of a few XML parts; each sheet's part is written row by row with inline strings (no
shared-string table to hold), deflated into the zip as it goes, and the zip's bytes are handed on as they
are produced (portal.downloads streams them). Every text is a text cell — never a formula, a number or a
link — so a 使用单位 named '=HYPERLINK(…)' stays a name and a serial number keeps its leading zeros.

Why not a library: openpyxl's write-only mode and XlsxWriter's constant_memory mode are bounded too but
spend 20–30 µs a cell; 100,000 certificate rows (3.5 million cells) took over a minute, past a web
worker's timeout. This writes the same cells in a few seconds; openpyxl reads every file back in the tests.
"""
import re
from datetime import date, datetime
from xml.sax.saxutils import escape

from portal.zip_stream import zip_chunks

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '{sheets}</Types>')
_SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{n}.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets>'
    '</workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{sheets}'
    '<Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/></Relationships>')
_SHEET_REL = ('<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/worksheet" Target="worksheets/sheet{n}.xml"/>')
# Style 0: normal; style 1: bold (the header row).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font><font><b/><sz val="11"/><name val="宋体"/></font>'
    '</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_SHEET_START = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_END = '</sheetData></worksheet>'
_ROWS_PER_WRITE = 200


def _text_cell(text, style=""):
    if not text.isprintable():  # rare: a control character, or a space other than ' ' (kept)
        text = _NOT_XML.sub("", text)
    return f'<c t="inlineStr"{style}><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _cell(value, style=""):
    if type(value) is str:  # nearly every cell: the fast path first
        return _text_cell(value, style) if value else "<c/>"
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return _text_cell("是" if value else "否", style)
    if isinstance(value, (int, float)):
        return f"<c{style}><v>{value}</v></c>"
    if isinstance(value, datetime):
        return _text_cell(value.isoformat(sep=" ", timespec="seconds"), style)
    if isinstance(value, date):
        return _text_cell(value.isoformat(), style)
    return _text_cell(str(value), style)


def _row(values, style=""):
    return "<row>" + "".join(_cell(value, style) for value in values) + "</row>"


def _titles(sheets):
    """Sheet names as Excel allows them: no []:*?/\\, at most 31 characters, each one different."""
    seen, titles = set(), []
    for n, (title, _, _) in enumerate(sheets, 1):
        name = _BAD_TITLE.sub("_", str(title))[:31] or f"Sheet{n}"
        if name in seen:
            name = f"{name[:27]}_{n}"
        seen.add(name)
        titles.append(name)
    return titles


def _sheet_parts(header, rows):
    yield _SHEET_START + _row(header, ' s="1"')
    batch = []
    for row in rows:
        batch.append(_row(row))
        if len(batch) == _ROWS_PER_WRITE:
            yield "".join(batch)
            batch = []
    yield "".join(batch) + _SHEET_END


def workbook_chunks(sheets):
    """The bytes of an .xlsx of (title, header, rows) sheets, produced while the rows are read."""
    sheets = list(sheets)
    titles = _titles(sheets)
    numbers = range(1, len(sheets) + 1)
    workbook = _WORKBOOK.format(sheets="".join(
        f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, title in zip(numbers, titles)))
    members = [
        ("[Content_Types].xml", True, [_CONTENT_TYPES.format(sheets="".join(_SHEET_TYPE.format(n=n) for n in numbers))]),
        ("_rels/.rels", True, [_ROOT_RELS]),
        ("xl/workbook.xml", True, [workbook]),
        ("xl/_rels/workbook.xml.rels", True, [_WORKBOOK_RELS.format(sheets="".join(_SHEET_REL.format(n=n)
                                                                                    for n in numbers))]),
        ("xl/styles.xml", True, [_STYLES]),
        *((f"xl/worksheets/sheet{n}.xml", True, _sheet_parts(header, rows))
          for n, (_, header, rows) in zip(numbers, sheets)),
    ]
    return zip_chunks(members)
