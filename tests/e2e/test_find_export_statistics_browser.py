"""In Chromium: find certificates by a fragment of 使用单位, export the result and read the .xlsx; the
统计分析 page draws its charts (under the CSP) beside tables with the right numbers."""
import io
import zipfile

import openpyxl
import pytest
from playwright.sync_api import expect

from portal.background.models import Task
from portal.extensions import db
from tests.delegation.helpers import datong_certificate, taiyuan_certificate
from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.e2e


@pytest.fixture
def certificates(live_app, monkeypatch):
    """Four Taiyuan certificates, three of whose 使用单位 hold «建投» in the middle, and one of Datong's."""
    monkeypatch.setattr("portal.background.queues.enqueue", lambda *args, **kwargs: None)
    with live_app.app_context():
        names = ["山西建投一建集团", "山西建投二建集团", "太原市政工程公司", "中铁建投山西公司"]
        made = [taiyuan_certificate(n, holder_name=name, issue_date="2025-03-01") for n, name in enumerate(names, 1)]
        datong_certificate(1, holder_name="大同建投集团", issue_date="2025-04-01")
        made[0].status = "cancelled"
        clerk = made[1].created_by
        task = Task(kind="import", file_name="建投.zip", operator_id=clerk.id, authority_id=made[1].authority_id,
                    state="done", total=2, done=2)
        db.session.add(task)
        db.session.flush()
        sealed = taiyuan_certificate(5, seal=True, holder_name="山西建投三建集团", issue_date="2025-03-01")
        for cert in (made[1], sealed):
            cert.import_task_id = task.id
        db.session.commit()
        live_app.config["EXPORT_TASK"] = (task.id, [made[1].number, sealed.number], sealed.number)
        return {c.holder_name: c.number for c in made + [sealed]}


def test_search_by_a_fragment_then_export_the_result(live_app, certificates, page, tmp_path):
    browser_login(page, live_app, "clerk")
    page.goto(live_app.config["LIVE_URL"] + "/maintenance/crane")
    page.fill("input[name=holder_name]", "建投")
    expect(page.locator("#certificate-rows tbody tr")).to_have_count(4)
    assert "holder_name=" in page.url  # the search is in the address: a reload or a link keeps it
    shown = page.inner_text("#certificate-rows tbody")
    assert "太原市政工程公司" not in shown and "大同建投集团" not in shown
    with page.expect_download() as download:
        page.click("#certificate-rows a:has-text('导出 Excel')")
    saved = tmp_path / "export.xlsx"
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header, found = rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]
    assert "上报状态" in header and "电子证照" in header
    expected = {name: number for name, number in certificates.items() if "建投" in name}
    assert {r["使用单位"]: r["证书编号"] for r in found} == expected
    assert {r["使用单位"]: r["状态"] for r in found}["山西建投一建集团"] == "已注销"


def test_an_imports_numbers_and_signed_pdfs_download_from_its_task(live_app, certificates, page, tmp_path):
    task_id, numbers, sealed = live_app.config["EXPORT_TASK"]
    browser_login(page, live_app, "clerk")
    page.goto(f"{live_app.config['LIVE_URL']}/tasks/{task_id}")
    with page.expect_download() as download:
        page.click("#export-numbers")
    download.value.save_as(tmp_path / "numbers.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "numbers.xlsx", read_only=True).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == numbers
    with page.expect_download() as download:
        page.click("#export-pdfs")
    download.value.save_as(tmp_path / "pdfs.zip")
    with zipfile.ZipFile(tmp_path / "pdfs.zip") as archive:
        assert archive.namelist() == [f"{sealed}.pdf"] and archive.read(f"{sealed}.pdf").startswith(b"%PDF")


def test_statistics_page_draws_its_charts_beside_the_tables(live_app, certificates, page):
    browser_login(page, live_app, "supervisor")
    page.goto(live_app.config["LIVE_URL"] + "/statistics/?issued_from=2025-01-01&issued_to=2025-12-31")
    page.wait_for_selector("canvas[data-chart-table='table-by-month'][data-drawn]", state="attached")
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('canvas[data-chart-table]')).map(c => {
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
        return [c.getAttribute('data-chart-table'), c.width > 0 && painted > 100];
    })""")
    assert dict(drawn) == {f"table-{key}": True for key in
                           ("by-month", "by-crane-type", "by-county", "by-authority", "by-report-state")}
    march = page.inner_text("#table-by-month tbody tr:has(th:text-is('2025-03'))").split()
    assert march == ["2025-03", "5", "0"]
    assert page.inner_text("#table-by-authority tbody").split() == ["太原市住房和城乡建设局", "5", "1"]
    assert "大同" not in page.inner_text("main")
