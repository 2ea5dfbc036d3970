"""证照维护 导出: the current search, every page of it, as .xlsx; scoped, audited, never cached."""
import io

import openpyxl
import pytest
import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.maintenance.forms import parse_search_args
from portal.maintenance.services import PER_PAGE, export_sheet
from tests.delegation.helpers import datong_certificate, taiyuan_certificate, user


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    monkeypatch.setattr("portal.background.queues.enqueue", lambda *args, **kwargs: None)


def _sheet(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_export_holds_every_match_of_the_search_across_pages_and_nothing_else(demo, login_as):
    for n in range(1, PER_PAGE + 3):
        taiyuan_certificate(n, holder_name=f"山西建投第{n:02d}建筑有限公司")
    taiyuan_certificate(PER_PAGE + 3, holder_name="晋中路桥集团")
    datong_certificate(1, holder_name="大同建投集团")  # matches, but another authority's
    response = login_as("clerk").get("/maintenance/crane/export", query_string={"holder_name": "建投"})
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = _sheet(response)
    assert len(rows) == PER_PAGE + 2  # more than one page
    assert {r["使用单位"] for r in rows} == {f"山西建投第{n:02d}建筑有限公司" for n in range(1, PER_PAGE + 3)}
    first = next(r for r in rows if r["使用单位"] == "山西建投第01建筑有限公司")
    cert = db.session.scalar(sa.select(Certificate).filter_by(holder_name="山西建投第01建筑有限公司"))
    assert first["证书编号"] == cert.number and first["备案编号"] == cert.record_number
    assert first["设备类别"] == "塔式起重机" and first["状态"] == "已发证" and first["上报状态"] == "待上报"
    assert first["电子证照"] == "生成中" and first["发证日期"] == cert.issue_date.isoformat()
    assert first["工程名称"] == cert.project_name and first["产权单位名称"] == cert.owner_name
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="certificate.export"))
    assert entry is not None and "holder_name=建投" in entry.detail


def test_export_follows_the_state_filters_and_the_admin_sees_every_authority(demo, login_as):
    failed = taiyuan_certificate(1)
    taiyuan_certificate(2)
    other = datong_certificate(1)
    failed.report_state = other.report_state = "failed"
    db.session.commit()
    rows = _sheet(login_as("admin").get("/maintenance/crane/export?report_state=failed"))
    assert sorted(r["证书编号"] for r in rows) == sorted([failed.number, other.number])
    assert {r["上报状态"] for r in rows} == {"上报失败"}


def test_a_text_that_looks_like_a_formula_is_exported_as_text(demo, login_as):
    cert = taiyuan_certificate(1)
    cert.project_name = '=HYPERLINK("http://evil.example","点击")'
    db.session.commit()
    response = login_as("clerk").get("/maintenance/crane/export")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    header = [c.value for c in workbook.active[1]]
    cell = workbook.active.cell(row=2, column=header.index("工程名称") + 1)
    assert cell.value == cert.project_name and cell.data_type == "s"


def test_bad_search_input_is_refused_with_the_message_not_exported(demo, login_as):
    response = login_as("clerk").get("/maintenance/crane/export?issued_from=2025-02-30")
    assert response.status_code == 422 and "不是有效的日期" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="certificate.export")) is None


def test_export_rows_are_generated_lazily_in_batches(demo):
    taiyuan_certificate(1)
    filters, _, _ = parse_search_args({})
    title, header, rows = export_sheet(user("clerk"), filters)
    assert not isinstance(rows, list) and len(next(rows)) == len(header)


def test_the_list_links_to_the_export_of_the_current_search(demo, login_as):
    taiyuan_certificate(1)
    body = login_as("clerk").get("/maintenance/crane?holder_name=测试&report_state=pending",
                                 headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "/maintenance/crane/export?" in body and "report_state=pending" in body
