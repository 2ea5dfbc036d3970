"""统计分析: counts per month / crane type / county / authority / report outcome, computed in SQL and
scoped like every list (supervisor: own authority; admin: all or one), as tables, charts and .xlsx."""
import io
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.certificates.authorities import Authority
from portal.extensions import db
from portal.statistics.forms import parse_statistics_args
from portal.statistics.services import statistics_tables
from tests.delegation.helpers import DATONG_USCC, datong_certificate, taiyuan_certificate, user

RANGE = {"issued_from": "2025-01-01", "issued_to": "2025-12-31"}


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    monkeypatch.setattr("portal.background.queues.enqueue", lambda *args, **kwargs: None)


@pytest.fixture
def world(demo):
    """Taiyuan: March ×2 (one cancelled at 01:00 Beijing on 1 June, 17:00 UTC on 31 May), May ×1 of type S;
    one of 2024 (outside the range). Datong: April ×1."""
    march = taiyuan_certificate(1, issue_date="2025-03-01")
    cancelled = taiyuan_certificate(2, issue_date="2025-03-15")
    may = taiyuan_certificate(3, issue_date="2025-05-20")
    taiyuan_certificate(4, issue_date="2024-12-31")
    datong = datong_certificate(1, issue_date="2025-04-01")
    cancelled.status, cancelled.cancelled_at = "cancelled", datetime(2025, 5, 31, 17, 0)
    may.crane_type = "S"
    march.report_state, cancelled.report_state, may.report_state = "collected", "rejected", "failed"
    datong.report_state = "reported"
    db.session.commit()


def _tables(username, **args):
    viewer = user(username)
    authorities = db.session.scalars(sa.select(Authority)).all() if viewer.role == "admin" else []
    filters, errors = parse_statistics_args({**RANGE, **args}, viewer, authorities)
    assert errors == []
    return {t.key: t.rows for t in statistics_tables(viewer, filters)}


def test_supervisor_counts_only_their_authority(world):
    tables = _tables("supervisor")
    months = dict((m, (issued, cancelled)) for m, issued, cancelled in tables["by-month"])
    assert len(months) == 12 and months["2025-03"] == (2, 0) and months["2025-05"] == (1, 0)
    assert months["2025-06"] == (0, 1)  # cancelled on 1 June in Beijing, though 31 May in UTC
    assert months["2025-04"] == (0, 0)  # Datong's April certificate is not theirs
    assert tables["by-crane-type"] == [("塔式起重机", 2, 1), ("施工升降机", 1, 0)]
    assert tables["by-authority"] == [("太原市住房和城乡建设局", 3, 1)]
    assert tables["by-county"] == [("太原市小店区", 3, 1)]
    assert dict(tables["by-report-state"]) == {"待上报": 0, "已上报": 0, "归集成功": 1, "校验失败": 1, "上报失败": 1}


def test_admin_counts_every_authority_or_one(world):
    tables = _tables("admin")
    assert tables["by-authority"] == [("太原市住房和城乡建设局", 3, 1), ("大同市住房和城乡建设局", 1, 0)]
    assert dict(tables["by-report-state"])["已上报"] == 1
    datong = db.session.scalar(sa.select(Authority).filter_by(uscc=DATONG_USCC))
    only = _tables("admin", authority_id=str(datong.id))
    assert only["by-authority"] == [("大同市住房和城乡建设局", 1, 0)]
    assert only["by-county"] == [("大同市新荣区", 1, 0)]


def test_the_date_range_bounds_the_counts(world):
    tables = _tables("supervisor", issued_from="2025-03-10", issued_to="2025-05-31")
    assert [m for m, *_ in tables["by-month"]] == ["2025-03", "2025-04", "2025-05"]
    assert tables["by-authority"] == [("太原市住房和城乡建设局", 2, 1)]
    assert sum(issued for _, issued, _ in tables["by-month"]) == 2


@pytest.mark.parametrize("args, message", [
    ({"issued_from": "2025-13-01"}, "不是有效的日期"), ({"issued_from": "2025-06-01", "issued_to": "2025-01-01"}, "不能晚于"),
    ({"issued_from": "2000-01-01", "issued_to": "2025-01-01"}, "最长 10 年"), ({"authority_id": "99999"}, "发证机关"),
])
def test_unusable_filters_are_named_and_the_defaults_used(world, login_as, args, message):
    response = login_as("admin").get("/statistics/", query_string={**RANGE, **args})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and message in body and "alert-danger" in body


def test_the_page_shows_each_chart_beside_its_table(world, login_as):
    body = login_as("supervisor").get("/statistics/", query_string=RANGE).get_data(as_text=True)
    for key in ("by-month", "by-crane-type", "by-county", "by-authority", "by-report-state"):
        assert f'data-chart-table="table-{key}"' in body and f'id="table-{key}"' in body
    assert "js/chart-4.6.1.umd.min.js" in body and "js/statistics.js" in body and "<script>" not in body
    assert "大同" not in body  # neither the authority list nor Datong's numbers
    assert "/statistics/export?" in body and 'href="/statistics/"' in body  # the menu entry


def test_the_export_has_one_sheet_per_table_with_the_same_numbers(world, login_as):
    response = login_as("supervisor").get("/statistics/export", query_string=RANGE)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    sheets = {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}
    assert sheets["按发证机关"] == [("发证机关", "发证", "其中已注销"), ("太原市住房和城乡建设局", 3, 1)]
    assert ("2025-06", 0, 1) in sheets["按月份：发证与注销"]
    assert len(sheets) == 5
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="statistics.export")) is not None
