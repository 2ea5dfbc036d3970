"""批量导入 in Chromium: 导出 the template, upload a filled zip, watch the progress bar, download the failures."""
import io
import zipfile

import openpyxl
import pytest

from tests.e2e.conftest import browser_login, serve_live_app
from tests.imports.helpers import import_zip, mixed_rows

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_worker_app(tmp_path):
    """Like live_app, but jobs run in an embedded RQ worker thread so the upload returns at once."""
    with serve_live_app(tmp_path, worker=True, RQ_ASYNC=True) as app:
        yield app


def test_clerk_exports_uploads_watches_progress_and_downloads_failures(live_worker_app, page, tmp_path):
    app = live_worker_app
    browser_login(page, app, "clerk")
    page.goto(app.config["LIVE_URL"] + "/entry/crane/import/")
    with page.expect_download() as download:
        page.click("#export-template")
    template = tmp_path / download.value.suggested_filename
    download.value.save_as(template)
    assert template.name == "建筑起重机械使用登记证书导入模板.zip"
    with zipfile.ZipFile(template) as zf:
        assert "建筑起重机械使用登记证书导入模板.xlsx" in zf.namelist()

    upload = tmp_path / "第一批.zip"
    upload.write_bytes(import_zip(mixed_rows()))
    page.set_input_files("#import-file", str(upload))
    page.click("button:has-text('上传')")
    page.wait_for_url("**/tasks/*")
    assert "第一批.zip" in page.inner_text("main")
    # the fragment polls itself until the task is done (then the page reloads once with the details)
    page.wait_for_selector(".task-status[data-state='done']", timeout=60000)
    page.wait_for_selector("#row-errors", timeout=15000)
    status = page.inner_text(".task-status")
    assert "5 / 5" in status.replace("\n", " ") or ("5" in status and "成功数" in status)
    assert page.inner_text(".task-succeeded") == "3" and page.inner_text(".task-failed") == "2"
    assert page.get_attribute(".task-status progress", "value") == "100"

    with page.expect_download() as download:
        page.click(".task-status a.download-report")
    assert download.value.suggested_filename.startswith("导入失败数据_")
    report = tmp_path / "failures.xlsx"
    download.value.save_as(report)
    wb = openpyxl.load_workbook(io.BytesIO(report.read_bytes()))
    assert wb["证照信息"].max_row == 3 and wb["证照信息"].cell(row=1, column=wb["证照信息"].max_column).value == "错误信息"
