"""Uploads made to hurt, through the 批量导入 page and `certs check` / `certs import`: each gets a clear
Chinese message, nothing is written for a refused file, and the process that received it goes on serving."""
import io
import json
import re
import zipfile

import openpyxl
import pytest

from portal import storage
from portal.certificates.models import Attachment, Certificate
from portal.extensions import db
from portal.standard.workbook import CERT_SHEET, TEMPLATE_XLSX_NAME, ImportFile, template_workbook_bytes
from portal.background.models import Task
from portal.tasks.services import row_errors
from tests.factories import issuable_certificate, issuable_persons
from tests.imports.helpers import import_zip, nothing_stored, post_upload, valid_rows
from tests.standard.factories import edit_sheet_xml, filled_workbook, inline_cell, with_rows, zip_bytes

MB = 1024 * 1024
PDF = b"%PDF-1.4\n" + b"scan " * 20_000  # a 100 KB scan


def _zip(xlsx, **entries):
    return zip_bytes({TEMPLATE_XLSX_NAME: xlsx, "附件/": b"", **entries})


def far_cell(ref):
    """The issue's 22 KB upload: the template plus one text cell at ``ref`` of 证照信息."""
    row = re.sub(r"[A-Z]+", "", ref)
    return _zip(with_rows(template_workbook_bytes(), CERT_SHEET, f'<row r="{row}">{inline_cell(ref, "x")}</row>'))


def _unflagged_name(entries, placeholder, raw):
    """A zip whose entry ``placeholder`` is renamed to the bytes ``raw`` without the UTF-8 flag."""
    return zip_bytes(entries).replace(placeholder.encode(), raw)


REFUSED = {  # name: (file, a fragment of its message)
    "sheet-dimension bomb": (lambda: far_cell("XFD1048576"), "单元格 XFD1048576 有内容"),
    "a cell a million rows down": (lambda: far_cell("Z1000000"), "单元格 Z1000000 有内容"),
    "a cell right of the template": (lambda: far_cell("BA2"), "超出了导入模板的范围"),
    "more rows than the limit": (lambda: import_zip(valid_rows(count=4)), "超过每个文件 3 行的上限"),
    "a zip inside the zip": (lambda: zip_bytes({"数据.zip": import_zip(valid_rows(count=1))}), "是另一个压缩包"),
    "a name neither UTF-8 nor GBK": (lambda: _unflagged_name({TEMPLATE_XLSX_NAME: filled_workbook([]), "AAAAAAAAA": b"x"},
                                                             "AAAAAAAAA", b"\xff\xfe/x.pdf\xff"), "既不是 UTF-8 也不是 GBK"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_the_upload_page_refuses_each_hostile_file_with_its_message_and_goes_on(app, login_as, case):
    app.config["IMPORT_MAX_ROWS"] = 3
    make, fragment = REFUSED[case]
    client = login_as("clerk")
    response = post_upload(client, make())
    assert response.status_code == 422 and fragment in response.get_data(as_text=True)
    assert nothing_stored()
    assert post_upload(client, import_zip(valid_rows(count=1))).status_code == 303


@pytest.mark.parametrize("case", REFUSED)
def test_certs_check_and_import_refuse_each_hostile_file_and_write_nothing(app, demo, runner, tmp_path, case):
    app.config["IMPORT_MAX_ROWS"] = 3
    make, fragment = REFUSED[case]
    path = tmp_path / "上传.zip"
    path.write_bytes(make())
    for command in ("check", "import"):
        result = runner.invoke(args=["certs", command, str(path), "--operator", "clerk"])
        assert result.exit_code == 2 and fragment in result.stderr, result.output
    assert nothing_stored() and db.session.scalar(db.select(db.func.count(Certificate.id))) == 0


# the reader's limits raised so far that the scan lets Z1000000 through: calamine then asks for ~1 GB in a
# child limited to 300 MB and aborts natively, as XFD1048576 did in the web process before
NATIVE_ABORT = {"IMPORT_MAX_ROWS": 2_000_000, "IMPORT_READER_MEMORY_MB": 300}


def test_a_native_abort_of_the_reader_is_a_message_and_the_web_process_goes_on(app, login_as):
    app.config.update(NATIVE_ABORT)
    client = login_as("clerk")
    response = post_upload(client, far_cell("Z1000000"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "文件无法读取" in page and "内存上限" in page
    assert nothing_stored()
    assert client.get("/entry/crane/import/").status_code == 200  # this process still serves
    assert post_upload(client, import_zip(valid_rows(count=1))).status_code == 303


def test_a_native_abort_of_the_reader_is_a_message_on_the_command_line(app, runner, tmp_path, demo):
    app.config.update(NATIVE_ABORT)
    path = tmp_path / "炸弹.zip"
    path.write_bytes(far_cell("Z1000000"))
    result = runner.invoke(args=["certs", "check", str(path), "--operator", "clerk"])
    assert result.exit_code == 2 and "文件无法读取" in result.stderr


def test_utf8_names_without_the_flag_import_their_attachment(run):
    name = "附件/申请表.pdf".encode("utf-8")
    placeholder = "B" * len(name)
    xlsx = filled_workbook([(2, issuable_certificate(1, attachments="申请表.pdf"), issuable_persons())])
    task = run(_unflagged_name({TEMPLATE_XLSX_NAME: xlsx, placeholder: PDF}, placeholder, name))
    assert (task.succeeded, task.failed) == (1, 0), row_errors(task)
    [attachment] = db.session.scalars(db.select(Attachment)).all()
    assert (attachment.filename, attachment.size) == ("申请表.pdf", len(PDF))


def test_each_attachment_is_read_once_and_rows_hold_no_bytes(run, monkeypatch, app):
    app.config["ATTACHMENT_MAX_MB"] = 2
    reads = []
    real = ImportFile.read_attachment

    def counting(self, name):
        reads.append(name)
        return real(self, name)
    monkeypatch.setattr(ImportFile, "read_attachment", counting)
    from portal.certificates import issuing
    batches = []
    real_batch = issuing.issue_batch

    def recording(operator, authority, rows, **kwargs):
        batches.append([a for row in rows for a in row.attachments])
        return real_batch(operator, authority, rows, **kwargs)
    monkeypatch.setattr("portal.imports.services.issue_batch", recording)
    many = ";".join(["扫描件.pdf"] * 20)
    huge = b"%PDF-1.4" + b"\0" * (150 * MB)  # the issue's 150 MB: a few hundred KB compressed
    rows = [(n + 1, issuable_certificate(n, attachments=many), issuable_persons()) for n in (1, 2, 3)]
    rows.append((5, issuable_certificate(4, attachments=";".join(["大.pdf"] * 20)), issuable_persons()))
    task = run(import_zip(rows, attachments={"扫描件.pdf": PDF, "大.pdf": huge}))
    assert (task.succeeded, task.failed) == (3, 1)
    assert reads == ["扫描件.pdf"]  # once for three rows naming it twenty times; 大.pdf refused unread
    [failed] = row_errors(task)
    assert failed["row"] == "5" and "大小 150.0 MB，超过上限 2 MB" in failed["errors"][0]["message"]
    assert all(not hasattr(a, "data") for batch in batches for a in batch)  # digests only, never bytes
    attachments = db.session.scalars(db.select(Attachment)).all()
    assert len(attachments) == 3 and {a.sha256 for a in attachments} == {attachments[0].sha256}
    assert sum(1 for p in (storage.root() / "attachments").rglob("*") if p.is_file()) == 1


def test_a_formula_cell_fails_its_row_naming_the_cell(run):
    xlsx = filled_workbook([(2, issuable_certificate(1), issuable_persons()), (3, issuable_certificate(2), issuable_persons())])
    xlsx = edit_sheet_xml(xlsx, CERT_SHEET, lambda xml: re.sub(r'<c r="V4"[^>]*>.*?</c>',
                                                               '<c r="V4"><f>A1&amp;"工程"</f></c>', xml, 1))
    task = run(_zip(xlsx))
    assert (task.succeeded, task.failed) == (1, 1)
    [failed] = row_errors(task)
    assert [e["message"] for e in failed["errors"]] == [
        "工程名称：单元格 V4 为公式，请粘贴为数值（在 Excel/WPS 中复制该单元格，再“选择性粘贴 → 数值”），然后重新上传"]


def test_the_failure_report_a_supervisor_downloads_holds_text_not_formulas(run, login_as):
    wb = openpyxl.load_workbook(io.BytesIO(filled_workbook([(2, issuable_certificate(
        1, project_name='=HYPERLINK("http://x","click")', project_address="=cmd|' /C calc'!A0",
        location="112.5492，37.8570"), issuable_persons())])))
    for cell in wb[CERT_SHEET][3]:
        cell.data_type = "s"  # typed as text by the clerk ('=…), as Excel stores it
    out = io.BytesIO()
    wb.save(out)
    task = run(_zip(out.getvalue()))
    response = login_as("supervisor").get(f"/tasks/{task.id}/failure-report")
    assert response.status_code == 200
    assert "<f>" not in zipfile.ZipFile(io.BytesIO(response.data)).read("xl/worksheets/sheet1.xml").decode()
    ws = openpyxl.load_workbook(io.BytesIO(response.data))[CERT_SHEET]
    values = {c.value for c in ws[2]}
    assert {'=HYPERLINK("http://x","click")', "=cmd|' /C calc'!A0"} <= values


def test_the_check_json_names_a_formula_cell(demo, runner, tmp_path):
    xlsx = filled_workbook([(2, issuable_certificate(1), issuable_persons())])
    xlsx = edit_sheet_xml(xlsx, CERT_SHEET, lambda xml: re.sub(r'<c r="B3"[^>]*>.*?</c>', '<c r="B3"><f>X1</f></c>',
                                                               xml, 1))
    path = tmp_path / "公式.zip"
    path.write_bytes(_zip(xlsx))
    result = runner.invoke(args=["certs", "check", str(path), "--operator", "clerk", "--json"])
    [row] = json.loads(result.stdout)["rows"]
    [error] = row["errors"]
    assert result.exit_code == 1 and error["message"].startswith("使用单位名称：单元格 B3 为公式，请粘贴为数值")


def _from_seq_1():
    """The template as exported (its example row kept, 序号 1) with data that starts at 序号 1 too."""
    return import_zip([(1, issuable_certificate(1), issuable_persons()), (2, issuable_certificate(2), issuable_persons())])


def test_data_may_start_at_seq_1_beside_the_kept_example_row_on_the_upload_page(login_as):
    response = post_upload(login_as("clerk"), _from_seq_1())
    assert response.status_code == 303
    task = db.session.scalar(db.select(Task).where(Task.kind == "import"))
    assert (task.total, task.succeeded, task.failed) == (2, 2, 0), row_errors(task)


def test_data_may_start_at_seq_1_beside_the_kept_example_row_on_the_command_line(demo, runner, tmp_path):
    path = tmp_path / "从1开始.zip"
    path.write_bytes(_from_seq_1())
    result = runner.invoke(args=["certs", "import", str(path), "--operator", "clerk", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [(r["row"], r["errors"]) for r in rows] == [(1, []), (2, [])] and all(r["certificate_number"] for r in rows)


def test_a_native_abort_of_the_reader_in_the_worker_fails_the_task_and_the_worker_goes_on(app, user, run):
    from portal.imports.services import run_import
    app.config.update(NATIVE_ABORT)  # as if the limits changed between the upload and its run
    clerk = user("clerk")
    task = Task(kind="import", title="批量导入", file_name="炸弹.zip", operator_id=clerk.id,
                authority_id=clerk.authorities[0].id, state="queued", total=1,
                upload_path=storage.write_bytes("imports/bomb.zip", far_cell("Z1000000")))
    db.session.add(task)
    db.session.commit()
    result = run_import(task.id)
    assert result.state == "failed" and "文件无法读取" in result.error
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0
    assert run(import_zip(valid_rows(count=1))).succeeded == 1  # the same process runs the next task
