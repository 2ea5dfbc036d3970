"""Template round trip, refusals of bad zips, import checks and the failure report."""
import io
import zipfile
from datetime import date

import openpyxl
import pytest

from portal.standard.rules import CheckContext
from portal.standard.workbook import (CERT_HEADERS, ERROR_HEADER, PERSON_HEADERS, TEMPLATE_XLSX_NAME, ImportLimits,
                                      ImportRefused,
                                      check_import_file, check_import_rows, open_import_zip, template_workbook_bytes,
                                      write_failure_report, write_template_zip)
from tests.standard.factories import AUTHORITY_USCC, TAIYUAN_JURISDICTION, TODAY, filled_workbook, valid_certificate, \
    valid_persons, zip_bytes

SPEC_CERT_HEADERS = (
    "序号*, 使用单位名称*, 使用单位统一社会信用代码*, 发证机关*, 发证机关代码*, 发证日期*, 有效期至, 设备类别*, 规格型号*, "
    "备案编号*, 生产厂家*, 出厂编号*, 出厂日期, 产权单位名称*, 产权单位统一社会信用代码*, 安装单位名称*, 安装单位统一社会信用代码*, "
    "监理单位名称*, 监理单位统一社会信用代码*, 施工总承包单位名称, 施工总承包单位统一社会信用代码, 工程名称*, 工程项目地址*, "
    "工程项目地址所在区/县级区划代码*, 安装位置*, 建筑工程施工许可证编号*, 塔式起重机起重臂长度(m), 塔式起重机最大起重量(t), "
    "塔式起重机拟安装最大高度(m), 塔式起重机最大幅度起重量(t), 施工升降机额定载重量(kg), 施工升降机额定速度(m/min), "
    "物料提升机额定载重量(kg), 物料提升机额定速度(m/min), 附件").split(", ")


def ctx(**kw):
    return CheckContext(today=TODAY, jurisdiction=TAIYUAN_JURISDICTION, authority_uscc=AUTHORITY_USCC, **kw)


def upload(rows, attachments=None, xlsx=None) -> bytes:
    entries = {TEMPLATE_XLSX_NAME: filled_workbook(rows, xlsx), "附件/": b""}
    entries.update({f"附件/{n}": b"%PDF-1.4" for n in attachments or ()})
    return zip_bytes(entries)


def test_template_zip_layout(tmp_path):
    path = tmp_path / "t.zip"
    write_template_zip(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == [TEMPLATE_XLSX_NAME, "附件/"]
        wb = openpyxl.load_workbook(io.BytesIO(zf.read(TEMPLATE_XLSX_NAME)))
    assert wb.sheetnames == ["证照信息", "人员信息", "填写说明", "代码表"]
    assert [c.value for c in wb["证照信息"][1]] == SPEC_CERT_HEADERS == list(CERT_HEADERS)
    assert [c.value for c in wb["人员信息"][1]] == ["序号*", "人员类型代码*", "姓名*", "身份证号码*", "证书编号", "联系电话"] \
        == list(PERSON_HEADERS)
    formulas = {dv.formula1 for ws in (wb["证照信息"], wb["人员信息"]) for dv in ws.data_validations.dataValidation}
    assert formulas == {"'代码表'!$G$2:$G$4", "'代码表'!$A$2:$A$164", "'代码表'!$J$2:$J$14"}
    assert wb["代码表"]["A2"].value == "140100" and wb["代码表"]["G2"].value == "T"
    assert wb["证照信息"].column_dimensions["C"].number_format == "@"
    # the template as exported imports as zero rows: the example row is ignored
    f = open_import_zip(path)
    assert list(f.rows()) == [] and f.problems == []


def test_round_trip_valid_and_invalid_rows():
    bad = valid_certificate(record_number="晋AA-T00002", location="117.4937,37.9017", holder_uscc="91350100M000100Y4Z")
    persons_bad = valid_persons()
    persons_bad[2]["id_number"] = "140105198503010031"
    data = upload([(2, valid_certificate(attachments="申请表.pdf"), valid_persons()), (3, bad, persons_bad)],
                  attachments=["申请表.pdf"])
    f = open_import_zip(data)
    rows = list(f.rows())
    assert [r.seq for r in rows] == ["2", "3"] and rows[0].excel_row == 3 and rows[0].attachment_names == ["申请表.pdf"]
    assert len(rows[0].persons) == 10 and rows[0].person_rows[0] == 12  # 10 example persons occupy rows 2–11
    report = check_import_file(f, ctx())
    assert (report.total, report.valid, report.invalid) == (2, 1, 1)
    errors = dict(report.rows)["3"]
    assert {(e.rule, e.key) for e in errors} == {("R6", "location"), ("R4", "holder_uscc"), ("R8", "id_number")}
    assert any("人员信息表第" in e.field for e in errors)


def test_import_file_level_problems():
    persons = valid_persons()
    data = upload([(2, valid_certificate(attachments="缺少.pdf;x.docx"), persons),
                   (2, valid_certificate(record_number="晋AA-T00009"), []),
                   (4, valid_certificate(), persons)])
    f = open_import_zip(data)
    report = check_import_file(f, ctx())
    by_seq = {}
    for seq, errors in report.rows:
        by_seq.setdefault(seq, []).extend(errors)
    msgs = " ".join(e.message for e in by_seq["2"])
    assert "出现了 2 次" in msgs and "缺少.pdf" in msgs and "x.docx" in msgs
    # same 备案编号 as the first row 序号 2, which fails: nothing blocks it, it passes
    assert by_seq["4"] == []


def test_orphan_person_and_formula_and_number_cells():
    raw = filled_workbook([(2, valid_certificate(), valid_persons())])
    wb = openpyxl.load_workbook(io.BytesIO(raw))
    ws = wb["证照信息"]
    ws.cell(row=3, column=1).value = 2  # a number cell for 序号 (calamine reads 2.0)
    wb["人员信息"].append([99, "1101", "孤儿", valid_persons()[0]["id_number"]])
    out = io.BytesIO()
    wb.save(out)
    f = open_import_zip(zip_bytes({TEMPLATE_XLSX_NAME: out.getvalue()}))
    assert [r.seq for r in f.rows()] == ["2"]
    assert f.problems == [] and [(p.excel_row, p.seq) for p in f.orphan_persons] == [(22, "99")]
    report = check_import_file(f, ctx())
    assert (report.total, report.valid, report.invalid) == (2, 1, 1)
    assert [e.message for e in report.person_failures[0].errors] == [
        "人员信息表第22行 序号：证照信息表中没有序号为 99 的行，该人员未导入；请核对该人员所属证照的序号"]


def test_headers_matched_by_name_not_position():
    wb = openpyxl.Workbook()
    cs = wb.active
    cs.title = "证照信息"
    headers = list(reversed(CERT_HEADERS))
    headers = [h.rstrip("*") + " " for h in headers]  # no stars, trailing spaces
    cs.append(headers)
    from portal.standard.workbook import CERT_COLUMNS, PERSON_COLUMNS
    cert = valid_certificate()
    cs.append([{"seq": 5}.get(f.key, cert.get(f.key, "")) for f in reversed(CERT_COLUMNS)])
    ps = wb.create_sheet("人员信息")
    ps.append(list(PERSON_HEADERS))
    for p in valid_persons():
        ps.append([5] + [p.get(f.key, "") for f in PERSON_COLUMNS[1:]])
    out = io.BytesIO()
    wb.save(out)
    report = check_import_file(open_import_zip(zip_bytes({"a/导入.xlsx": out.getvalue()})), ctx())
    assert (report.total, report.valid) == (1, 1), report.rows


def _refused(data, **kw) -> str:
    with pytest.raises(ImportRefused) as info:
        open_import_zip(data, ImportLimits(**kw))
    return info.value.message


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(TEMPLATE_XLSX_NAME, b"\0" * (5 * 1024 * 1024))
    return buf.getvalue()


def _lying_bomb() -> bytes:
    """Declared sizes say 10 bytes, the entry inflates to 5 MB."""
    data = bytearray(_bomb())
    import struct
    # patch uncompressed size in the local header (offset 22) and central directory (offset 24 of the entry)
    struct.pack_into("<I", data, 22, 10)
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 10)
    return bytes(data)


def _encrypted() -> bytes:
    data = bytearray(zip_bytes({TEMPLATE_XLSX_NAME: b"x"}))
    data[6] |= 1
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 1
    return bytes(data)


@pytest.mark.parametrize("make,kw,fragment", [
    (lambda: b"hello", {}, "不是 zip"),
    (lambda: b"Rar!\x1a\x07\x00" + b"\0" * 50, {}, "rar/7z"),
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50, {}, ".xls"),
    (_encrypted, {}, "加密"),
    (lambda: zip_bytes({"../evil.xlsx": b"x"}), {}, "不安全"),
    (lambda: zip_bytes({"/abs/evil.xlsx": b"x"}), {}, "不安全"),
    (lambda: zip_bytes({"a.xlsx": b"x" * 2000}), {"max_zip_bytes": 100}, "超过"),
    (_bomb, {"max_unpacked_bytes": 1024 * 1024}, "过大"),
    (_lying_bomb, {"max_unpacked_bytes": 1024 * 1024}, "已损坏"),  # zipfile stops at the declared size
    (lambda: zip_bytes({"附件/a.pdf": b"x"}), {}, "没有找到导入模板"),
    (lambda: zip_bytes({"a.xls": b"x"}), {}, "不是 .xlsx 格式"),
    (lambda: zip_bytes({"a.csv": b"x"}), {}, "不是 .xlsx 格式"),
    (lambda: zip_bytes({"a.xlsx": b"x", "b.xlsx": b"y"}), {}, "2 个 Excel 工作簿"),
    (lambda: zip_bytes({"a.xlsx": b"not really"}), {}, "无法读取工作簿"),
    (lambda: template_workbook_bytes(), {}, "Excel 文件本身"),
])
def test_refusals(make, kw, fragment):
    assert fragment in _refused(make(), **kw)


def test_refuse_missing_sheet_and_header():
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook_bytes()))
    del wb["人员信息"]
    out = io.BytesIO()
    wb.save(out)
    assert "缺少工作表“人员信息”" in _refused(zip_bytes({"t.xlsx": out.getvalue()}))
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook_bytes()))
    wb["证照信息"]["J1"].value = "备案号"
    out = io.BytesIO()
    wb.save(out)
    assert "缺少表头：备案编号*" in _refused(zip_bytes({"t.xlsx": out.getvalue()}))


def test_gbk_names_from_chinese_windows_zips():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.xlsx", filled_workbook([(2, valid_certificate(attachments="图.png"), valid_persons())]))
        zf.writestr("AAAA/BB.png", b"png")  # same byte length as the GBK name, patched below (no UTF-8 flag)
    data = buf.getvalue().replace(b"AAAA/BB.png", "附件/图.png".encode("gbk"))
    f = open_import_zip(data)
    assert f.attachment_names == ["图.png"] and f.read_attachment("图.png") == b"png"
    assert check_import_file(f, ctx()).valid == 1


def test_failure_report_round_trip(tmp_path):
    bad = valid_certificate(location="112.5492，37.8570", issue_date=date(2025, 6, 1))
    persons = valid_persons()
    persons[0]["id_number"] = "140105198501010019"
    data = upload([(2, valid_certificate(record_number="晋AA-T00005"), valid_persons()), (3, bad, persons)])
    f = open_import_zip(data)
    failed = [(row, errors) for row, errors in check_import_rows(f, ctx()) if errors]
    assert [r.seq for r, _ in failed] == ["3"]
    path = tmp_path / "失败.xlsx"
    assert write_failure_report(path, failed) == 1
    wb = openpyxl.load_workbook(path)
    cs, ps = wb["证照信息"], wb["人员信息"]
    header = [c.value for c in cs[1]]
    assert header == list(CERT_HEADERS) + [ERROR_HEADER]
    assert cs.max_row == 2 and ps.max_row == 11
    loc = cs.cell(row=2, column=header.index("安装位置*") + 1)
    assert "中文逗号" in loc.comment.text and loc.fill.fgColor.rgb.endswith("FFC7CE")
    assert "中文逗号" in cs.cell(row=2, column=len(header)).value
    pid = ps.cell(row=2, column=4)
    assert "校验位" in pid.comment.text and "校验位" in ps.cell(row=2, column=7).value
    assert {"填写说明", "代码表"} <= set(wb.sheetnames)
    # fix the two cells and upload the report as it is
    loc.value = "112.5492,37.8570"
    pid.value = valid_persons()[0]["id_number"]
    out = io.BytesIO()
    wb.save(out)
    report = check_import_file(open_import_zip(zip_bytes({"失败.xlsx": out.getvalue()})), ctx())
    assert (report.total, report.valid) == (1, 1), report.rows


def test_template_person_seq_help_refers_to_the_certificate_row():
    from portal.standard.workbook import CERT_COLUMNS, PERSON_COLUMNS, _help_rows
    assert "每行唯一" in CERT_COLUMNS[0].hint
    person_seq = PERSON_COLUMNS[0].hint
    assert "每行唯一" not in person_seq and "证照信息" in person_seq
    rows = {(r[0], r[1]): r[3] for r in _help_rows() if len(r) == 4}
    assert rows[("人员信息", "序号")] == person_seq and "每行唯一" not in rows[("人员信息", "序号")]


R12_DB = ("备案编号：备案编号 晋AA-T00099 的设备已有一张有效（未注销）的使用登记证书，不能重复发证；"
          "如已导入成功请勿重复提交，如需重新登记请先注销原证书")


def _same_file(number, row, seq):
    return (f"备案编号：备案编号 {number} 与第 {row} 行的备案编号相同（序号 {seq}），同一设备在一个文件中只能登记一次；"
            f"请删除重复的行或核对备案编号")


# (序号, 备案编号 as typed, other overrides, expected R12 messages); sheet row = 序号 + 1 (row 2 is the example)
R12_CASES = [
    (2, "晋AA-T23232", {}, []),
    (3, "晋aa－t23232", {}, [_same_file("晋AA-T23232", 3, 2)]),  # another spelling of row 3's number
    (4, "晋AA-T00007", {"location": "112.5492，37.8570"}, []),  # fails R6: not issued, blocks nothing
    (5, "晋AA—T00007", {}, []),  # its first copy failed: not a duplicate
    (6, "晋AAT00007", {}, [_same_file("晋AA-T00007", 6, 5)]),  # names the row that passes, not the failed one
    (7, "晋aa-t00099", {}, [R12_DB]),  # issued already (the database has the canonical spelling)
    (8, "晋AA-T00099", {}, [R12_DB]),  # refused by the database, so it blocks no later copy either
]


def test_r12_compares_canonical_numbers_with_the_database_and_earlier_rows_that_pass():
    rows = [(seq, valid_certificate(record_number=number, **kw), valid_persons()) for seq, number, kw, _ in R12_CASES]
    f = open_import_zip(upload(rows))
    asked = []

    def taken(number):
        asked.append(number)
        return number == "晋AA-T00099"

    got = {row.seq: [e.message for e in errors if e.rule == "R12"]
           for row, errors in check_import_rows(f, ctx(record_number_taken=taken))}
    assert got == {str(seq): expected for seq, _, _, expected in R12_CASES}
    assert set(asked) == {"晋AA-T23232", "晋AA-T00007", "晋AA-T00099"}  # canonical numbers only
    assert f.record_numbers() == {"晋AA-T23232", "晋AA-T00007", "晋AA-T00099"}


def _orphan_upload():
    """序号 2 valid; a person of 序号 99 (no such row, bad ID too) and a person with no 序号."""
    raw = filled_workbook([(2, valid_certificate(), valid_persons())])
    wb = openpyxl.load_workbook(io.BytesIO(raw))
    ps = wb["人员信息"]
    ps.append([99, "1101", "孤儿甲", "140105198501010019"])  # row 22: wrong check digit as well
    ps.append([None, "1102", "孤儿乙", valid_persons()[1]["id_number"]])  # row 23
    out = io.BytesIO()
    wb.save(out)
    return zip_bytes({TEMPLATE_XLSX_NAME: out.getvalue()})


ORPHAN_MESSAGES = {
    22: ["人员信息表第22行 序号：证照信息表中没有序号为 99 的行，该人员未导入；请核对该人员所属证照的序号",
         "人员信息表第22行 身份证号码：身份证号码“140105198501010019”的校验位不正确（按前 17 位计算应为“8”），请核对号码"],
    23: ["人员信息表第23行 序号：为必填项，请填写该人员所属证照在证照信息表中的序号"],
}


def test_orphan_person_rows_are_failed_rows_with_every_error():
    report = check_import_file(open_import_zip(_orphan_upload()), ctx())
    assert (report.total, report.valid, report.invalid) == (3, 1, 2)
    assert report.failed == [] and report.file_problems == []
    assert {p.excel_row: [e.message for e in p.errors] for p in report.person_failures} == ORPHAN_MESSAGES


def test_failure_report_holds_orphan_person_rows_on_the_person_sheet(tmp_path):
    f = open_import_zip(_orphan_upload())
    failures = check_import_file(f, ctx()).person_failures
    path = tmp_path / "失败.xlsx"
    assert write_failure_report(path, [], failures) == 0
    ps = openpyxl.load_workbook(path)["人员信息"]
    assert [c.value for c in ps[1]] == list(PERSON_HEADERS) + [ERROR_HEADER]
    assert ps.max_row == 3
    assert [ps.cell(row=2, column=c).value for c in (1, 2, 3)] == ["99", "1101", "孤儿甲"]
    assert ps.cell(row=2, column=7).value == "\n".join(ORPHAN_MESSAGES[22])
    assert ps.cell(row=2, column=1).comment.text == ORPHAN_MESSAGES[22][0]
    assert ps.cell(row=2, column=4).comment.text == ORPHAN_MESSAGES[22][1]
    assert ps.cell(row=3, column=7).value == ORPHAN_MESSAGES[23][0]


def test_persons_of_a_duplicated_seq_stay_with_the_first_row():
    data = upload([(2, valid_certificate(), valid_persons()), (2, valid_certificate(record_number="晋AA-T00002"),
                                                                    valid_persons())])
    rows = list(open_import_zip(data).rows())
    assert [len(r.persons) for r in rows] == [20, 0]  # both rows fail (序号 twice); nobody is lost
