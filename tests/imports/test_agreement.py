"""The dry run and the import agree: one file holding every case of issue 13 (owners' 备案编号 of another city
or province, historic permit codes, one 备案编号 in several spellings, a failed first copy, an orphan person,
a wrong 发证机关 name, a reeving note) gives the same verdict, row by row and message by message, in
`certs check`, in `certs import` and in the web import."""
import io
import json

import openpyxl
import pytest

from portal.certificates.models import Certificate
from portal.extensions import db
from portal.standard.workbook import TEMPLATE_XLSX_NAME
from portal.tasks.services import row_errors
from tests.factories import issuable_certificate, issuable_persons
from tests.imports.helpers import import_zip
from tests.standard.factories import filled_workbook, zip_bytes

ISSUED_BEFORE = "晋AA-T55555"
# 序号 → (certificate overrides, the rules its row breaks); the sheet row is 序号 + 1 (row 2 is the example)
CASES = {
    2: ({"record_number": "晋BA-T10001"}, set()),  # the owner registered it in 大同; the site is in 小店区
    3: ({"record_number": "冀AA-T10002"}, set()),  # a Hebei owner's number
    4: ({"permit_number": "140726201806010101"}, set()),  # 太谷县's permit before 太谷区
    5: ({"permit_number": "140000202505200101"}, set()),  # a permit of the province
    6: ({"tower_tip_load": "1.3（2倍率）"}, set()),  # reeving noted
    7: ({"record_number": "晋AA-T23232"}, set()),
    8: ({"record_number": "晋aa－t23232"}, {"R12"}),  # row 7's number in another spelling
    9: ({"record_number": "晋aa—t55555"}, {"R12"}),  # issued already, another spelling
    10: ({"record_number": "晋AA-T00077", "location": "112.5492，37.8570"}, {"R6"}),
    11: ({"record_number": "晋AAT00077"}, set()),  # its first copy failed: not a duplicate
    12: ({"authority_name": "大同市住房和城乡建设局"}, {"R4"}),
    13: ({"permit_number": "140105202501150001"}, {"R10"}),  # same-day serial 00
    14: ({"permit_number": "140421201905010101"}, {"R10"}),  # 长治县's code after 上党区 was set up
    15: ({"project_division": "140421"}, {"R2"}),  # abolished: names 140404 上党区
}
ORPHAN_SEQ = "99"


def _file():
    rows = [(seq, issuable_certificate(100 + seq, **overrides), issuable_persons())
            for seq, (overrides, _) in CASES.items()]
    wb = openpyxl.load_workbook(io.BytesIO(filled_workbook(rows)))
    person = issuable_persons()[0]
    wb["人员信息"].append([int(ORPHAN_SEQ), person["type_code"], "无主人员", person["id_number"]])
    out = io.BytesIO()
    wb.save(out)
    return zip_bytes({TEMPLATE_XLSX_NAME: out.getvalue(), "附件/": b""})


def _path(tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _issue_the_earlier_certificate(runner, tmp_path):
    pre = import_zip([(2, issuable_certificate(1, record_number=ISSUED_BEFORE), issuable_persons())])
    result = runner.invoke(args=["certs", "import", _path(tmp_path, pre, "pre.zip"), "--operator", "clerk"])
    assert result.exit_code == 0, result.output


def _checked(runner, path):
    result = runner.invoke(args=["certs", "check", path, "--operator", "clerk", "--json"])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def _assert_the_check_is_right(check):
    errors = {str(r["row"]): r["errors"] for r in check["rows"]}
    assert {seq: {e["rule"] for e in errors[str(seq)]} for seq in CASES} == {seq: rules for seq, (_, rules) in CASES.items()}
    messages = {seq: " ".join(e["message"] for e in errors[str(seq)]) for seq in CASES}
    assert "与第 8 行的备案编号相同（序号 7）" in messages[8]
    assert f"备案编号 {ISSUED_BEFORE} 的设备已有一张有效" in messages[9]
    assert "应为“太原市住房和城乡建设局”" in messages[12]
    assert "现为 140404 长治市上党区" in messages[14] and "现为 140404 长治市上党区" in messages[15]
    (orphan,) = check["person_rows"]
    assert (orphan["row"], orphan["excel_row"]) == (ORPHAN_SEQ, 2 + 10 + 10 * len(CASES))
    assert "没有序号为 99 的行" in orphan["errors"][0]["message"]
    failed = sum(1 for rules in (r for _, r in CASES.values()) if rules) + 1
    assert (check["total"], check["valid"], check["invalid"]) == (len(CASES) + 1, len(CASES) + 1 - failed, failed)


def test_check_and_cli_import_agree_on_every_row(demo, runner, tmp_path):
    _issue_the_earlier_certificate(runner, tmp_path)
    path = _path(tmp_path, _file(), "全部情形.zip")
    check = _checked(runner, path)
    _assert_the_check_is_right(check)
    result = runner.invoke(args=["certs", "import", path, "--operator", "clerk", "--json"])
    assert result.exit_code == 1, result.output
    imported = json.loads(result.stdout)
    assert [(r["row"], r["errors"]) for r in imported["rows"]] == [(r["row"], r["errors"]) for r in check["rows"]]
    assert [r["certificate_number"] is not None for r in imported["rows"]] == [not r["errors"] for r in check["rows"]]
    assert imported["person_rows"] == check["person_rows"]
    assert (imported["total"], imported["succeeded"], imported["failed"]) == (
        check["total"], check["valid"], check["invalid"])
    persons = openpyxl.load_workbook(imported["failure_report"])["人员信息"]
    orphan = [row for row in persons.iter_rows(min_row=2, values_only=True) if row[2] == "无主人员"]
    assert [(r[0], r[-1]) for r in orphan] == [(ORPHAN_SEQ, check["person_rows"][0]["errors"][0]["message"])]
    tip = db.session.scalar(db.select(Certificate).filter_by(record_number="晋AA-T00106"))
    assert tip.business["tower_tip_load"] == "1.3（2倍率）"  # stored as entered
    assert db.session.scalar(db.select(Certificate.id).filter_by(record_number="晋AA-T00077")) is not None


def test_check_and_web_import_agree_on_every_row(demo, runner, run, tmp_path):
    _issue_the_earlier_certificate(runner, tmp_path)
    data = _file()
    check = _checked(runner, _path(tmp_path, data, "全部情形.zip"))
    task = run(data)
    assert (task.state, task.total, task.succeeded, task.failed) == ("done", check["total"], check["valid"],
                                                                     check["invalid"])
    # the page's copy also cites the failure report's rows (report_row, person_report_row): not the CLI's
    cites = {"report_row", "person_report_row", "person_excel_row"}
    stored = [{k: v for k, v in dict(r, errors=[{k: v for k, v in e.items() if k not in cites} for e in r["errors"]]).items()
               if k not in cites} for r in row_errors(task)]
    assert [(r["row"], r["errors"]) for r in stored if r.get("sheet") != "人员信息"] == [
        (str(r["row"]), r["errors"]) for r in check["rows"] if r["errors"]]
    assert [r for r in stored if r.get("sheet") == "人员信息"] == check["person_rows"]


@pytest.mark.parametrize("command", ["check", "import"])
def test_an_orphan_person_alone_makes_the_command_fail(demo, runner, tmp_path, command):
    rows = [(2, issuable_certificate(1), issuable_persons())]
    wb = openpyxl.load_workbook(io.BytesIO(filled_workbook(rows)))
    wb["人员信息"].append([None, "1101", "无序号人员", issuable_persons()[0]["id_number"]])
    out = io.BytesIO()
    wb.save(out)
    path = _path(tmp_path, zip_bytes({TEMPLATE_XLSX_NAME: out.getvalue()}), "孤立人员.zip")
    result = runner.invoke(args=["certs", command, path, "--operator", "clerk"])
    assert result.exit_code == 1, result.output
    assert "人员信息表第22行（序号 未填写）：" in result.stdout and "序号：为必填项" in result.stdout
