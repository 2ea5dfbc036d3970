"""The streamed export formats: .xlsx (portal.xlsx_export) and zip (portal.zip_stream), read back by
openpyxl and zipfile, produced in chunks whose size does not grow with the content."""
import io
import zipfile
from datetime import date, datetime

import openpyxl

from portal.xlsx_export import workbook_chunks
from portal.zip_stream import zip_chunks


def _read(chunks):
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))


def test_every_kind_of_value_reads_back_as_written():
    rows = [["140105T（2025）0000001", 3, 2.5, None, "", date(2025, 3, 1), datetime(2025, 3, 1, 9, 30, 5), True],
            ["=1+1", "-5", "@SUM(A1)", "  前后空格  ", "a\x00b\x1fc", "<b>&amp;</b>", "0012", "第二行\n换行"]]
    sheet = _read(workbook_chunks([("证书", ["编号", "数", "小数", "空", "空串", "日期", "时间", "布尔"], rows)])).active
    assert sheet.title == "证书" and [c.value for c in sheet[1]] == ["编号", "数", "小数", "空", "空串", "日期", "时间", "布尔"]
    assert sheet[1][0].font.b  # the header row is bold
    assert [c.value for c in sheet[2]] == ["140105T（2025）0000001", 3, 2.5, None, None, "2025-03-01",
                                           "2025-03-01 09:30:05", "是"]
    second = [c.value for c in sheet[3]]
    assert second == ["=1+1", "-5", "@SUM(A1)", "  前后空格  ", "abc", "<b>&amp;</b>", "0012", "第二行\n换行"]
    assert all(c.data_type == "s" for c in sheet[3])  # text, never a formula or a number


def test_several_sheets_keep_their_order_and_get_names_excel_accepts():
    sheets = [("按月份：发证与注销", ["月份"], [["2025-01"]]), ("a/b:c" * 20, ["x"], [[1]]), ("a/b:c" * 20, ["y"], [[2]])]
    workbook = _read(workbook_chunks(sheets))
    names = workbook.sheetnames
    assert names[0] == "按月份：发证与注销" and len(set(names)) == 3
    assert all(len(n) <= 31 and not set("/:") & set(n) for n in names)
    assert [workbook[n]["A1"].value for n in names] == ["月份", "x", "y"]


def test_rows_are_read_as_the_workbook_is_produced():
    produced = []

    def rows():
        for n in range(20_000):
            produced.append(n)
            yield [f"第{n}行", n, "测试建筑工程有限公司" * 3]
    chunks = workbook_chunks([("大表", ["行", "号", "单位"], rows())])
    first = next(chunk for chunk in chunks if chunk)
    assert len(produced) < 20_000  # bytes came out before the last row was read
    data = first + b"".join(chunks)
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 20_001


def test_a_zip_streams_large_members_in_small_chunks():
    block = bytes(range(256)) * 256  # 64 KB
    members = [("证书甲.pdf", False, (block for _ in range(80))), ("b.txt", True, ["文本" * 1000])]
    chunks = list(zip_chunks(members))
    assert max(len(c) for c in chunks) < 2 * 1024 * 1024 < sum(len(c) for c in chunks)  # 5 MB, never whole
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None and archive.namelist() == ["证书甲.pdf", "b.txt"]
    assert archive.read("证书甲.pdf") == block * 80 and archive.read("b.txt").decode() == "文本" * 1000
