"""No workbook, however made, is read unbounded: far cells, extra columns, too many rows or too much text are
refused before the reader allocates; a reader that dies says «文件无法读取»; zip names in UTF-8 or GBK; the
example row recognised by content; formula cells named; attachments checked from the central directory and
read with a hard cap; the failure report keeps every value as text."""
import io
from datetime import datetime
import re
import struct
import zipfile
import zlib

import openpyxl
import pytest

from portal.standard.fields import EXAMPLE_CERTIFICATE, FIELD_BY_KEY
from portal.standard.rules import CheckContext
from portal.standard.workbook import (CERT_SHEET, PERSON_SHEET, TEMPLATE_XLSX_NAME, ImportLimits, ImportRefused,
                                      check_import_file, check_import_rows, check_import_upload, count_import_rows,
                                      open_import_zip,
                                      template_workbook_bytes, write_failure_report)
from tests.standard.factories import (AUTHORITY_USCC, TAIYUAN_JURISDICTION, TODAY, edit_sheet_xml, filled_workbook,
                                      inline_cell, valid_certificate, valid_persons, with_rows, zip_bytes)

MB = 1024 * 1024


def ctx():
    return CheckContext(today=TODAY, jurisdiction=TAIYUAN_JURISDICTION, authority_uscc=AUTHORITY_USCC)


def _zip(xlsx, attachments=None):
    entries = {TEMPLATE_XLSX_NAME: xlsx, "附件/": b""}
    entries.update({f"附件/{name}": data for name, data in (attachments or {}).items()})
    return zip_bytes(entries)


def _rows(count, first=2):
    return [(n, valid_certificate(record_number=f"晋AA-T{n:05d}"), valid_persons()) for n in range(first, first + count)]


def _refused(data, limits=None):
    with pytest.raises(ImportRefused) as info:
        open_import_zip(data, limits)
    with pytest.raises(ImportRefused) as counted:
        count_import_rows(data, limits)
    assert counted.value.message == info.value.message
    return info.value.message


def far_cell(ref):
    """The issue's hostile workbook: the template plus one text cell at ``ref`` in 证照信息."""
    row = re.sub(r"[A-Z]+", "", ref)
    return _zip(with_rows(template_workbook_bytes(), CERT_SHEET, f'<row r="{row}">{inline_cell(ref, "x")}</row>'))


# ------------------------------------------------------------------------------------------ bounded reading

@pytest.mark.parametrize("ref", ["XFD1048576", "Z1000000", "A12000"])
def test_a_value_far_below_the_template_is_refused_before_it_is_read(ref):
    data = far_cell(ref)
    assert len(data) < 30_000
    message = _refused(data)
    assert f"单元格 {ref} 有内容" in message and "10,000 行的上限" in message and "删除" in message


def test_a_value_right_of_the_template_is_refused_and_a_note_column_beside_it_is_not():
    message = _refused(far_cell("AZ3"))
    assert "单元格 AZ3 有内容" in message and "共 35 列" in message and "A–AI 列" in message
    note = with_rows(filled_workbook(_rows(1)), CERT_SHEET, f'<row r="9">{inline_cell("AN9", "备注")}</row>')
    assert len(open_import_zip(_zip(note))) == 1


def test_a_huge_declared_dimension_alone_is_harmless():
    xlsx = edit_sheet_xml(filled_workbook(_rows(1)), CERT_SHEET,
                          lambda xml: xml.replace("<sheetViews>", '<dimension ref="A1:XFD1048576"/><sheetViews>', 1))
    assert '<dimension ref="A1:XFD1048576"/>' in zipfile.ZipFile(io.BytesIO(xlsx)).read(
        "xl/worksheets/sheet1.xml").decode()
    assert check_import_file(open_import_zip(_zip(xlsx)), ctx()).valid == 1


def test_a_reader_that_dies_natively_is_a_refusal_saying_the_file_cannot_be_read():
    # limits so wide that the scan lets Z1000000 through: calamine then asks for ~1 GB in a 300 MB child
    limits = ImportLimits(max_rows=2_000_000, max_person_rows=2_000_000, reader_memory_bytes=300 * MB)
    message = _refused(far_cell("Z1000000"), limits)
    assert message.startswith("文件无法读取") and "内存上限" in message and "另存为 .xlsx" in message
    assert count_import_rows(_zip(filled_workbook(_rows(2))), limits) == 2  # and the next read works


def test_more_certificate_rows_than_the_limit_are_refused_naming_the_limit():
    limits = ImportLimits(max_rows=3, max_person_rows=100)
    assert count_import_rows(_zip(filled_workbook(_rows(3))), limits) == 3  # the kept example row does not count
    message = _refused(_zip(filled_workbook(_rows(4))), limits)
    assert "“证照信息”表的证照数据超过每个文件 3 行的上限" in message and "分成几个文件" in message
    many = _zip(filled_workbook([(n, valid_certificate(), []) for n in range(2, 200)]))
    assert "超过每个文件 3 行的上限" in _refused(many, limits)  # the scan stops at the first row over the limit


def test_more_person_rows_than_the_limit_are_refused():
    message = _refused(_zip(filled_workbook(_rows(2))), ImportLimits(max_rows=10, max_person_rows=15))
    assert "“人员信息”表的人员数据超过每个文件 15 行的上限" in message and "10 行证照" in message


def test_more_content_than_the_rows_can_hold_is_refused():
    limits = ImportLimits(max_rows=2, max_person_rows=30)  # read back at most 2 × 2000 + 30 × 200 bytes
    assert count_import_rows(_zip(filled_workbook(_rows(1))), limits) == 1
    long_name = valid_certificate(project_name="很长的工程名称" * 1000)
    message = _refused(_zip(filled_workbook([(2, long_name, valid_persons())])), limits)
    assert "工作簿中的内容过多" in message and "每个文件最多 0 MB" not in message and "分成几个文件" in message


def test_the_two_sheets_are_held_to_the_read_limit_together_though_each_is_read_apart():
    limits = ImportLimits(max_rows=2, max_person_rows=30)  # 10,000 bytes read back, both sheets together
    persons = [dict(p, name=p["name"] + "名" * 50) for p in valid_persons()]  # some 3 KB of persons
    xlsx = filled_workbook([(2, valid_certificate(project_name="工" * 1800), persons)])  # some 7 KB of the row
    assert "工作簿中的内容过多" in _refused(_zip(xlsx), limits)
    with pytest.raises(ImportRefused, match="工作簿中的内容过多"):
        check_import_upload(_zip(xlsx), limits)
    assert count_import_rows(_zip(xlsx)) == 1  # under the default limits it is a good file


def test_each_sheet_is_refused_for_its_own_reason_and_the_certificate_sheet_speaks_first():
    far_person = with_rows(template_workbook_bytes(), PERSON_SHEET, f'<row r="900000">{inline_cell("A900000", "x")}</row>')
    assert "工作表“人员信息”的单元格 A900000 有内容" in _refused(_zip(far_person))
    both = with_rows(far_person, CERT_SHEET, f'<row r="12000">{inline_cell("A12000", "x")}</row>')
    assert "工作表“证照信息”的单元格 A12000 有内容" in _refused(_zip(both))


def test_sheets_kept_in_one_stream_before_each_sheet_had_its_reader_still_read():
    from portal.standard.isolation import decode_data, encode_data
    data = _zip(filled_workbook(_rows(2)))
    kept = check_import_upload(data).sheets
    first = zlib.decompressobj()
    certs = decode_data(first.decompress(kept))
    persons = decode_data(zlib.decompress(first.unused_data))
    one_stream = zlib.compress(encode_data([certs, persons]))
    assert _row_facts(open_import_zip(data, sheets=one_stream)) == _row_facts(open_import_zip(data))


def test_a_dtd_in_a_sheet_is_refused():
    xlsx = edit_sheet_xml(template_workbook_bytes(), CERT_SHEET,
                          lambda xml: '<!DOCTYPE x [<!ENTITY a "aaaa">]>' + xml)
    assert "无法读取工作簿" in _refused(_zip(xlsx))


def test_the_count_is_the_number_of_rows_open_import_zip_gives():
    data = _zip(filled_workbook(_rows(3)))
    assert count_import_rows(data) == len(open_import_zip(data)) == len(list(open_import_zip(data).rows())) == 3


def _row_facts(import_file):
    return [(r.seq, r.excel_row, r.values, r.persons, r.person_rows, r.problems) for r in import_file.rows()]


def test_the_sheets_kept_by_the_upload_check_give_what_a_second_read_would_without_reading_again(monkeypatch):
    from portal.standard import workbook
    rows = _rows(3)
    rows[1][1]["issue_date"] = datetime(2025, 6, 1)  # a date cell: it comes back a date, not text
    data = _zip(_formula(filled_workbook(rows), CERT_SHEET, "B3"))  # a formula cell: named as such
    checked = check_import_upload(data)
    fresh = open_import_zip(data)
    assert checked.count == len(fresh) == 3 and len(checked.sheets) < len(data) * 2

    def no_second_read(*_args, **_kwargs):
        raise AssertionError("the workbook was read again")
    monkeypatch.setattr(workbook, "start_in_child", no_second_read)
    kept = open_import_zip(data, sheets=checked.sheets)
    assert _row_facts(kept) == _row_facts(fresh)
    assert any(p.rule == "FORMAT" and "公式" in p.message for r in kept.rows() for p in r.problems)


def test_kept_sheets_are_held_to_the_read_limit_too():
    data = _zip(filled_workbook(_rows(2)))
    checked = check_import_upload(data)
    with pytest.raises(ImportRefused, match="工作簿中的内容过多"):
        open_import_zip(data, ImportLimits(max_rows=1, max_person_rows=1), sheets=checked.sheets)


# ------------------------------------------------------------------------------------------ the zip

def _unflagged(names: dict[str, bytes], raw_names: dict[str, bytes]) -> bytes:
    """A zip whose entries ``names`` (ASCII placeholders) are renamed to raw bytes, without the UTF-8 flag
    (what Info-ZIP on Linux, macOS's Archive Utility and Chinese Windows write)."""
    data = zip_bytes(names)
    for placeholder, raw in raw_names.items():
        assert len(placeholder.encode()) == len(raw)
        data = data.replace(placeholder.encode(), raw)
    return data


def test_utf8_names_without_the_utf8_flag_are_read_as_utf8():
    name = "附件/扫描件.pdf".encode("utf-8")
    placeholder = "A" * len(name)
    xlsx = filled_workbook([(2, valid_certificate(attachments="扫描件.pdf"), valid_persons())])
    f = open_import_zip(_unflagged({TEMPLATE_XLSX_NAME: xlsx, placeholder: b"%PDF-1.4"}, {placeholder: name}))
    assert f.attachment_names == ["扫描件.pdf"] and f.read_attachment("扫描件.pdf") == b"%PDF-1.4"
    assert check_import_file(f, ctx()).valid == 1


def test_a_name_neither_utf8_nor_gbk_is_refused_naming_it():
    message = _refused(_unflagged({TEMPLATE_XLSX_NAME: filled_workbook([]), "AAAAAAAAA": b"x"},
                                  {"AAAAAAAAA": b"\xff\xfe/x.pdf\xff"}))
    assert "文件名" in message and "x.pdf" in message and "既不是 UTF-8 也不是 GBK" in message and "改名" in message


def test_a_zip_inside_the_zip_is_named_as_such():
    inner = _zip(template_workbook_bytes())
    message = _refused(zip_bytes({"导入模板.zip": inner}))
    assert "“导入模板.zip”是另一个压缩包" in message and "先把它解压" in message


# ------------------------------------------------------------------------------------------ example row, formulas

def test_the_unchanged_example_row_is_ignored_by_content_so_data_may_start_at_seq_1():
    f = open_import_zip(_zip(filled_workbook([(1, valid_certificate(), valid_persons())])))
    report = check_import_file(f, ctx())
    assert (report.total, report.valid) == (1, 1), report.rows
    [row] = f.rows()
    assert row.seq == "1" and len(row.persons) == 10 and f.problems == []  # the example's persons left out


def test_the_example_row_is_recognised_wherever_it_is_and_a_changed_one_is_data():
    moved = filled_workbook(_rows(1) + [(7, dict(EXAMPLE_CERTIFICATE), [])])
    assert [r.seq for r in open_import_zip(_zip(moved)).rows()] == ["2"]
    changed = dict(EXAMPLE_CERTIFICATE, project_name="真实工程")
    assert [r.seq for r in open_import_zip(_zip(filled_workbook([(7, changed, [])]))).rows()] == ["7"]


def _formula(xlsx, sheet, ref, cached=None):
    """The cell ``ref`` of ``sheet`` made a formula, without a cached value or with one."""
    value = f"<v>{cached}</v>" if cached is not None else ""
    kind = ' t="str"' if cached is not None else ""
    return edit_sheet_xml(xlsx, sheet, lambda xml: re.sub(rf'<c r="{ref}"[^>]*>.*?</c>',
                                                          f'<c r="{ref}"{kind}><f>UPPER(Z1)</f>{value}</c>', xml, 1))


def test_a_formula_cell_without_a_value_is_named_as_a_formula_not_as_empty():
    xlsx = filled_workbook([(2, valid_certificate(), valid_persons())])
    xlsx = _formula(_formula(xlsx, CERT_SHEET, "B3"), PERSON_SHEET, "C13")  # 使用单位名称; 2nd person's 姓名
    [(_, errors)] = check_import_file(open_import_zip(_zip(xlsx)), ctx()).rows
    messages = [e.message for e in errors]
    assert "使用单位名称：单元格 B3 为公式，请粘贴为数值" in messages[0]
    assert any("人员信息表第13行 姓名：单元格 C13 为公式，请粘贴为数值" in m for m in messages)
    assert not any("为必填项" in m for m in messages), messages


def test_a_formula_row_with_no_value_at_all_is_still_a_row():
    xlsx = filled_workbook([(2, valid_certificate(), valid_persons())])
    xlsx = with_rows(xlsx, CERT_SHEET, '<row r="9"><c r="A9"><f>ROW()</f></c></row>')
    rows = list(open_import_zip(_zip(xlsx)).rows())
    assert [r.excel_row for r in rows] == [3, 9] and "单元格 A9 为公式" in rows[1].problems[0].message


def test_a_formula_cell_with_a_cached_value_imports_its_value():
    xlsx = _formula(filled_workbook([(2, valid_certificate(), valid_persons())]), CERT_SHEET, "B3", "山西公式建筑有限公司")
    report = check_import_file(open_import_zip(_zip(xlsx)), ctx())
    assert report.valid == 1 and next(open_import_zip(_zip(xlsx)).rows()).values["holder_name"] == "山西公式建筑有限公司"


# ------------------------------------------------------------------------------------------ attachments

def test_an_attachment_over_the_limit_is_refused_from_the_central_directory_and_names_repeat_once():
    big = b"%PDF-1.4" + b"\0" * (3 * MB)  # compresses to a few KB
    names = ";".join(["大.pdf"] * 20)
    f = open_import_zip(_zip(filled_workbook([(2, valid_certificate(attachments=names), valid_persons())]),
                             {"大.pdf": big}), ImportLimits(max_attachment_bytes=2 * MB))
    [row] = f.rows()
    assert row.attachment_names == ["大.pdf"]
    [problem] = [p for p in row.problems if p.key == "attachments"]
    assert "附件“大.pdf”大小 3.0 MB，超过上限 2 MB" in problem.message
    with pytest.raises(ImportRefused, match="超过上限 2 MB"):  # read anyway: it stops at the cap
        f.read_attachment("大.pdf")


def test_an_attachment_that_inflates_beyond_its_header_is_cut_at_the_cap():
    data = bytearray(_zip(filled_workbook([(2, valid_certificate(attachments="a.pdf"), valid_persons())]),
                          {"a.pdf": b"%PDF-1.4" + b"\0" * (3 * MB)}))
    entry = data.rfind("附件/a.pdf".encode())  # its central directory record: declared size 10 bytes
    struct.pack_into("<I", data, entry - 46 + 24, 10)
    f = open_import_zip(bytes(data), ImportLimits(max_attachment_bytes=1 * MB))
    with pytest.raises(ImportRefused, match="已损坏|超过上限"):
        f.read_attachment("a.pdf")


# ------------------------------------------------------------------------------------------ failure report

def test_the_failure_report_writes_every_value_as_text_never_a_formula(tmp_path):
    hostile = {"project_name": '=HYPERLINK("http://x","click")', "project_address": "=cmd|' /C calc'!A0",
               "model": "+SUM(1,2)", "location": "112.5492，37.8570"}
    wb = openpyxl.load_workbook(io.BytesIO(filled_workbook([(2, valid_certificate(**hostile), valid_persons())])))
    for cell in wb["证照信息"][3]:
        cell.data_type = "s"  # typed as text (as Excel stores '=… or a text-formatted cell), not formulas
    out = io.BytesIO()
    wb.save(out)
    imported = open_import_zip(_zip(out.getvalue()))
    assert {key: next(imported.rows()).values[key] for key in hostile} == hostile
    failed = [(row, errors) for row, errors in check_import_rows(imported, ctx()) if errors]
    path = tmp_path / "失败.xlsx"
    write_failure_report(path, failed)
    sheet_xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    ws = openpyxl.load_workbook(path)["证照信息"]
    header = [c.value for c in ws[1]]
    for key, value in hostile.items():
        cell = ws.cell(row=2, column=header.index(FIELD_BY_KEY[key].header) + 1)
        assert (cell.value, cell.data_type) == (value, "s")
    # the round trip keeps the values
    [row] = open_import_zip(zip_bytes({"失败.xlsx": path.read_bytes()})).rows()
    assert {key: row.values[key] for key in hostile} == hostile
