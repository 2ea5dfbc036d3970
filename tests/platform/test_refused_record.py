"""A record the strict simulator refuses: its Chinese reasons on the certificate page, then 重新上报 after the
mapping is fixed sends the record built again from the certificate, and the platform accepts it."""
import pytest

from portal.auth.models import User
from portal.certificates.issuing import IssueOptions, issue_certificate
from portal.extensions import db
from portal.platform import payload
from portal.platform.models import ReportOutbox
from portal.platform.reporting import send_due_reports, snapshot
from tests.factories import issuable_certificate, issuable_persons

REASON = "issuDate（发证日期）应为 YYYY-MM-DD 格式的有效日期，收到的是“2025/06/01”"


@pytest.fixture
def app_config(platform_config):
    return dict(platform_config, RQ_ASYNC=False)


@pytest.fixture(autouse=True)
def no_background_jobs(monkeypatch):
    """Reports are sent by explicit sweeps here; the resend's dispatch must not send behind the test's back."""
    monkeypatch.setattr("portal.background.queues.enqueue", lambda *args, **kwargs: None)


def _slashed_issue_date(cert, operate):
    return cert["issue_date"].strftime("%Y/%m/%d")


def _text(response):
    return response.get_data(as_text=True)


def test_a_refused_record_shows_its_reasons_and_is_resent_rebuilt_after_the_mapping_is_fixed(
        login_as, platform_sim, monkeypatch):
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    with monkeypatch.context() as bug:  # a mapping bug: 发证日期 sent as 2025/06/01
        bug.setattr(payload, "RECORD", tuple((path, _slashed_issue_date if path == "issuDate" else get)
                                             for path, get in payload.RECORD))
        cert = issue_certificate(clerk, issuable_certificate(), issuable_persons(),
                                 options=IssueOptions(seal_now=False, enqueue_seal=False, dispatch=False))
        send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "failed" and REASON in cert.report_message
    refused = db.session.scalar(db.select(ReportOutbox))
    refused_key = refused.idempotency_key

    supervisor = login_as("supervisor")
    page = _text(supervisor.get(f"/maintenance/crane/{cert.id}"))
    assert "上报失败" in page and "住建部退回" in page and REASON in page and "重新上报</button>" in page

    # The mapping is fixed (the bug's context has ended): 重新上报 builds the record again.
    assert supervisor.post(f"/maintenance/crane/{cert.id}/resend-report").status_code == 303
    send_due_reports()
    db.session.refresh(cert)
    db.session.refresh(refused)
    assert cert.report_state == "reported" and cert.report_message is None
    assert refused.idempotency_key != refused_key  # a changed record is a new report
    last = platform_sim.reports()["reports"][-1]
    assert last["idempotencyKey"] == refused.idempotency_key
    assert last["records"][0]["outcome"] == "success"
    assert last["records"][0]["record"] == payload.build_accept_record(snapshot(cert), "issue")
    assert last["records"][0]["record"]["issuDate"] == "2025-06-01"
    page = _text(supervisor.get(f"/maintenance/crane/{cert.id}"))
    assert "已上报" in page and REASON not in page.split("上报状态")[1].split("办理记录")[0]
