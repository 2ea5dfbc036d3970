"""The first look inside an .xlsx: cells placed exactly where python-calamine places them (so the grid it will
allocate is known before it allocates), early refusal, and XML no spreadsheet writes refused."""
import io
import zipfile

import pytest
from hypothesis import given, settings, strategies as st
from python_calamine import CalamineWorkbook

from portal.standard.xlsx_scan import (SheetBeyond, SheetScan, XlsxUnreadable, _Declined, _FastScan, _scan_exact,
                                       cell_ref, column_letters, scan_sheet, sheet_members)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def minimal_xlsx(sheet_data: str, before: str = "", prolog: str = "") -> bytes:
    """A one-sheet workbook (sheet 'S') whose <sheetData> is ``sheet_data``."""
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name=" S " sheetId="1" r:id="rId7"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'{prolog}<worksheet xmlns="{MAIN}">{before}<sheetData>{sheet_data}</sheetData>'
                                    '</worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return out.getvalue()


def scan(data: bytes, **limits):
    zf = zipfile.ZipFile(io.BytesIO(data))
    with zf.open(sheet_members(zf)["S"]) as stream:
        return scan_sheet(stream, **{"max_rows": 1000, "last_row": 1000, "last_column": 100, **limits})


def calamine_extent(data: bytes):
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(" S ")
    if not sheet.height:
        return 0, 0, 0
    rows_with_values = sum(1 for row in sheet.to_python() if any(v != "" for v in row))
    return sheet.end[0] + 1, sheet.end[1] + 1, rows_with_values


def test_references_and_letters():
    assert [column_letters(n) for n in (1, 26, 27, 52, 16384)] == ["A", "Z", "AA", "AZ", "XFD"]
    assert cell_ref(1048576, 16384) == "XFD1048576"


def test_the_sheet_is_found_through_the_workbook_and_its_relationships():
    assert sheet_members(zipfile.ZipFile(io.BytesIO(minimal_xlsx("")))) == {"S": "xl/worksheets/sheet1.xml"}


@pytest.mark.parametrize("sheet_data,extent", [
    ('<row r="1"><c r="C1" t="str"><v>5</v></c><c t="str"><v>x</v></c></row>', (1, 4)),  # implicit column
    ('<row r="1"><c t="str"><v>a</v></c></row><row><c t="str"><v>x</v></c></row>', (2, 1)),  # implicit row
    ('<row r="5"><c r="B9" t="str"><v>x</v></c><c t="str"><v>y</v></c></row>', (9, 3)),  # implicit cell: row 5
    ('<row r="9"><c r="A1" t="str"><v>x</v></c></row><row><c t="str"><v>y</v></c></row>', (10, 1)),
    ('<row r="1"><c r="xfd1" t="str"><v>x</v></c></row>', (1, 16384)),  # lower case, as calamine reads it
    ('<row r="1"><c r="A1" t="str"><v>x</v></c><c r="Z7" s="3"/><c r="Y3"><f>1+1</f></c></row>', (1, 1)),
    ('<row r="1"><c r="D2" t="inlineStr"><is></is></c></row>', (2, 4)),  # an empty string is still a cell
])
def test_cells_are_placed_where_calamine_places_them(sheet_data, extent):
    data = minimal_xlsx(sheet_data)
    result = scan(data, last_column=16384)
    assert (result.last_row, result.last_column) == extent == calamine_extent(data)[:2]


_cell = st.tuples(st.one_of(st.none(), st.tuples(st.integers(1, 40), st.integers(1, 30))),
                  st.sampled_from(["value", "formula", "styled"]))
_row = st.tuples(st.one_of(st.none(), st.integers(1, 40)), st.lists(_cell, max_size=5))


@settings(max_examples=150, deadline=None)
@given(st.lists(_row, max_size=8))
def test_the_scan_never_sees_a_smaller_grid_than_calamine_allocates(rows):
    xml = []
    for row_number, cells in rows:
        xml.append(f'<row r="{row_number}">' if row_number else "<row>")
        for ref, kind in cells:
            r = f' r="{cell_ref(ref[0], ref[1])}"' if ref else ""
            xml.append({"value": f'<c{r} t="str"><v>x</v></c>', "formula": f"<c{r}><f>1+1</f></c>",
                        "styled": f'<c{r} s="1"/>'}[kind])
        xml.append("</row>")
    data = minimal_xlsx("".join(xml))
    result = scan(data)
    last_row, last_column, rows_with_values = calamine_extent(data)
    assert (result.last_row, result.last_column) == (last_row, last_column)
    assert result.rows >= rows_with_values


def test_the_declared_dimension_is_read_but_not_trusted():
    data = minimal_xlsx('<row r="2"><c r="B2" t="str"><v>x</v></c></row>', before='<dimension ref="A1:XFD1048576"/>')
    result = scan(data)
    assert (result.dimension, result.last_row, result.last_column) == ("A1:XFD1048576", 2, 2)


@pytest.mark.parametrize("sheet_data,limits,kind,ref", [
    ('<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>', {}, "row", "XFD1048576"),
    ('<row r="3"><c r="CW3" t="str"><v>x</v></c></row>', {}, "column", "CW3"),
    ("".join(f'<row r="{n}"><c r="A{n}" t="str"><v>x</v></c></row>' for n in range(1, 8)), {"max_rows": 5},
     "rows", "A6"),
])
def test_the_scan_stops_at_the_first_cell_beyond_the_limits(sheet_data, limits, kind, ref):
    with pytest.raises(SheetBeyond) as info:
        scan(minimal_xlsx(sheet_data), **limits)
    assert (info.value.kind, info.value.ref) == (kind, ref)


def test_formula_cells_are_listed_with_their_position():
    data = minimal_xlsx('<row r="4"><c r="B4"><f>A1*2</f></c><c r="C4" t="str"><f>A1</f><v>7</v></c></row>')
    assert scan(data).formulas == [(4, 2), (4, 3)]


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
])
def test_dtds_and_entities_are_refused(prolog):
    with pytest.raises(XlsxUnreadable):
        scan(minimal_xlsx('<row r="1"><c r="A1" t="str"><v>x</v></c></row>', prolog=prolog))


@pytest.mark.parametrize("sheet_data", ['<row r="1"><c r="A1" t="str"><v>x</v></row>', '<row r="one"/>',
                                        '<row r="1"><c r="1A" t="str"><v>x</v></c></row>'])
def test_xml_no_spreadsheet_writes_is_refused(sheet_data):
    with pytest.raises(XlsxUnreadable):
        scan(minimal_xlsx(sheet_data))


# The C-speed scan of regular XML must say exactly what expat says, and hand anything else to expat.

_regular_cell = st.tuples(st.tuples(st.integers(1, 40), st.integers(1, 30)),
                          st.sampled_from(["value", "formula", "formula+value", "styled", "inline", "empty"]))


def _exact(data: bytes, **limits):
    zf = zipfile.ZipFile(io.BytesIO(data))
    with zf.open(sheet_members(zf)["S"]) as stream:
        return _scan_exact(stream, **{"max_rows": 1000, "last_row": 1000, "last_column": 100, **limits})


def _outcome(scanner, data, **limits):
    try:
        return scanner(data, **limits)
    except SheetBeyond as beyond:
        return beyond


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.lists(_regular_cell, max_size=5)), max_size=8),
       st.integers(1, 8), st.integers(1, 40), st.integers(1, 30))
def test_the_fast_scan_of_regular_xml_answers_what_expat_answers(rows, max_rows, last_row, last_column):
    xml = []
    for row_number, cells in rows:
        xml.append(f'<row r="{row_number}" spans="1:5">')
        for (r, c), kind in cells:
            ref = cell_ref(r, c)
            xml.append({"value": f'<c r="{ref}" t="n"><v>1</v></c>', "formula": f'<c r="{ref}"><f>1+1</f></c>',
                        "formula+value": f'<c r="{ref}" t="str"><f>A1</f><v>2</v></c>',
                        "styled": f'<c r="{ref}" s="1"/>', "empty": f'<c r="{ref}" t="inlineStr"></c>',
                        "inline": f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c>'}[kind])
        xml.append("</row>")
    data = minimal_xlsx("".join(xml), prolog='<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
    limits = {"max_rows": max_rows, "last_row": last_row, "last_column": last_column}
    zf = zipfile.ZipFile(io.BytesIO(data))
    with zf.open(sheet_members(zf)["S"]) as stream:
        try:
            fast = _FastScan(max_rows, last_row, last_column).run(stream)
        except _Declined:
            fast = None
    exact = _outcome(_exact, data, **limits)
    assert _outcome(scan, data, **limits) == exact
    if isinstance(exact, SheetScan):  # what is within the limits is answered by the fast scan itself
        assert fast == exact


@pytest.mark.parametrize("cell", [
    '<x:c r="XFD1048576" t="str"><x:v>1</x:v></x:c>',  # a prefixed cell
    '<c r="XFD1048576" t="str"><!-- --><v>1</v></c>',  # a comment between the cell and its value
    '<c t="str" r="XFD1048576"><v>1</v></c>',  # r not first
    '<c r="A1" r="XFD1048576" t="str"><v>1</v></c>',  # r twice
    "<c r='XFD1048576' t=\"str\"><v>1</v></c>",  # single quotes
    '<c r="A1" t="str"><v>1</v><is><t>x</t></is></c><c r="XFD1048576"><foo/><v>1</v></c>',  # an unknown element
])
def test_cells_the_fast_scan_does_not_know_are_still_placed_or_refused(cell):
    xmlns = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with pytest.raises((SheetBeyond, XlsxUnreadable)):  # beyond the limits, or XML expat refuses
        scan(minimal_xlsx(f'<row r="1" {xmlns}>{cell}</row>'))
