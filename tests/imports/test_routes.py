"""批量导入 page: 导出 the template, 上传 a zip → a task and a redirect; refused files say why, store nothing."""
import io
import re
import zipfile

import openpyxl
import pytest

from portal import storage
from portal.background.models import Task
from portal.extensions import db
from portal.standard.workbook import TEMPLATE_XLSX_NAME, TEMPLATE_ZIP_NAME, template_workbook_bytes
from portal.background.models import Task
from tests.imports.helpers import import_zip, nothing_stored, post_upload, valid_rows
from tests.standard.factories import zip_bytes


def test_the_page_offers_export_and_a_file_chooser(login_as):
    page = login_as("clerk").get("/entry/crane/import/").get_data(as_text=True)
    assert 'href="/entry/crane/import/template"' in page and ">导出<" in page
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page and ">上传<" in page
    assert "每个压缩包最多 10,000 行证照、200,000 行人员" in page and "单个附件不超过 10 MB" in page


@pytest.mark.parametrize("username", ["supervisor", "admin", "delegate"])
def test_only_clerks_open_the_import_page(login_as, username):
    assert login_as(username).get("/entry/crane/import/").status_code == 403


def test_export_downloads_the_template_zip(login_as):
    response = login_as("clerk").get("/entry/crane/import/template")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        assert zf.namelist() == [TEMPLATE_XLSX_NAME, "附件/"]
    assert TEMPLATE_ZIP_NAME.endswith(".zip")


def test_an_accepted_upload_becomes_a_task_and_redirects_to_it(login_as):
    client = login_as("clerk")
    response = post_upload(client, import_zip(valid_rows(count=2)))
    assert response.status_code == 303
    task = db.session.scalar(db.select(Task).where(Task.kind == "import"))
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    assert (task.file_name, task.operator.username, task.authority.name, task.total) == (
        "导入数据.zip", "clerk", "太原市住房和城乡建设局", 2)
    assert re.fullmatch(r"imports/[0-9a-f]{32}\.zip", task.upload_path) and storage.path_of(task.upload_path).exists()
    assert task.state == "done" and task.succeeded == 2  # tests run jobs inline
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "成功数" in page and "140105T（2025）0000002" in page


def _missing_sheet():
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook_bytes()))
    del wb["人员信息"]
    out = io.BytesIO()
    wb.save(out)
    return zip_bytes({TEMPLATE_XLSX_NAME: out.getvalue()})


def _encrypted():
    data = bytearray(zip_bytes({TEMPLATE_XLSX_NAME: b"x"}))
    data[6] |= 1
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 1
    return bytes(data)


@pytest.mark.parametrize("make,message", [
    (lambda: b"just some text", "不是 zip 压缩包"),
    (_encrypted, "加密"),
    (lambda: b"PK\x03\x04 broken", "不是 zip 压缩包"),
    (_missing_sheet, "缺少工作表“人员信息”"),
    (lambda: import_zip([]), "没有填写任何数据"),
])
def test_a_refused_file_shows_why_and_nothing_is_stored(login_as, make, message):
    response = post_upload(login_as("clerk"), make())
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page and 'id="upload-error"' in page
    assert nothing_stored()


def test_upload_without_a_file_asks_for_one(login_as):
    response = login_as("clerk").post("/entry/crane/import/", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "请先选择" in response.get_data(as_text=True)


def test_a_clerk_without_signing_right_is_told_so(login_as):
    response = post_upload(login_as("clerk2"), import_zip(valid_rows(count=1)))
    assert response.status_code == 422 and "签章权限" in response.get_data(as_text=True)
    assert nothing_stored()


def test_an_upload_over_the_size_limit_gets_413(login_as, app):
    client = login_as("clerk")
    app.config["MAX_CONTENT_LENGTH"] = 2048
    assert post_upload(client, b"x" * 5000).status_code == 413
    assert nothing_stored()
