"""自动上报住建部: outbox written with the certificate, delivered exactly once despite failures."""
from datetime import timedelta

import pytest

from portal.auth.models import User
from portal.certificates.issuing import IssueOptions, cancel_certificate, issue_certificate
from portal.certificates.models import Certificate
from portal.clock import utcnow
from portal.extensions import db
from portal.platform import payload
from portal.platform.models import ReportOutbox
from portal.platform.reporting import resend, send_due_reports
from tests.factories import issuable_certificate, issuable_persons


@pytest.fixture
def app_config(platform_config):
    # Reports are sent by an explicit sweep in these tests, not inline at issue.
    return dict(platform_config, RQ_ASYNC=False, REPORT_BACKOFF_SECONDS=30)


@pytest.fixture
def clerk(demo, monkeypatch):
    monkeypatch.setattr("portal.platform.reporting.dispatch", lambda: None)
    return db.session.scalar(db.select(User).filter_by(username="clerk"))


def _issue(clerk, n=1):
    return issue_certificate(clerk, issuable_certificate(n), issuable_persons(), options=IssueOptions(seal_now=False))


def _make_due():
    db.session.execute(db.update(ReportOutbox).where(ReportOutbox.state == "pending").values(next_attempt_at=utcnow()))
    db.session.commit()


def _deliver_and_judge(cert):
    """Send what is due, then ask for the verdicts at once."""
    send_due_reports()
    db.session.execute(db.update(ReportOutbox).values(verdict_check_at=utcnow()))
    db.session.commit()
    send_due_reports()
    db.session.refresh(cert)


def _received(sim, cert):
    return sim.reports()["counts"].get(cert.ecert_id, 0)


def test_issued_certificate_is_reported_once_and_shows_reported(clerk, platform_sim):
    cert = _issue(clerk)
    assert cert.report_state == "pending"
    task = send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1
    assert task.kind == "report" and task.succeeded == 1
    assert send_due_reports() is None  # nothing due: no second report, no empty run recorded
    assert _received(platform_sim, cert) == 1


def test_500s_are_retried_with_backoff_and_delivered_once(clerk, platform_sim):
    cert = _issue(clerk)
    platform_sim.set_mode("error500", times=2, endpoints=["accept"])
    send_due_reports()
    row = db.session.scalar(db.select(ReportOutbox))
    assert row.state == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert "第 1 次上报未成功" in cert.report_message
    assert send_due_reports() is None  # not due yet: backoff is respected
    _make_due()
    send_due_reports()
    db.session.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at > utcnow() + timedelta(seconds=50)  # doubled
    _make_due()
    send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1


def test_a_lost_answer_is_not_a_second_report(clerk, platform_sim):
    cert = _issue(clerk)
    platform_sim.set_mode("lose_answer", times=1, endpoints=["accept"])
    send_due_reports()
    assert _received(platform_sim, cert) == 1  # the platform stored it, we never heard
    _make_due()
    send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1


def test_a_slow_platform_times_out_and_is_retried(clerk, platform_sim, app):
    cert = _issue(clerk)
    platform_sim.set_mode("slow", delay_seconds=2, times=1, endpoints=["accept"])
    send_due_reports()
    row = db.session.scalar(db.select(ReportOutbox))
    assert row.state == "pending" and "超时" in row.last_error
    _make_due()
    send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1


def test_a_report_claimed_by_a_dead_worker_is_sent_after_its_claim_expires(clerk, platform_sim):
    cert = _issue(clerk)
    row = db.session.scalar(db.select(ReportOutbox))
    row.state, row.attempts, row.claimed_until = "sending", 1, utcnow() + timedelta(seconds=60)
    db.session.commit()
    assert send_due_reports() is None  # still claimed by the (dead) worker
    row.claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1


def test_nothing_is_reported_for_a_certificate_whose_transaction_rolled_back(clerk, platform_sim, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr("portal.certificates.issuing.audit.record", explode)
    with pytest.raises(RuntimeError):
        _issue(clerk)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Certificate.id))) == 0
    assert db.session.scalar(db.select(db.func.count(ReportOutbox.id))) == 0
    assert send_due_reports() is None and platform_sim.reports()["reports"] == []


def test_after_max_attempts_the_certificate_shows_report_failed_and_can_be_resent(clerk, platform_sim):
    cert = _issue(clerk)
    platform_sim.set_mode("error500", endpoints=["accept"])
    from portal.platform import reporting
    for _ in range(reporting.MAX_ATTEMPTS):
        _make_due()
        send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "failed" and "已重试" in cert.report_message
    row = db.session.scalar(db.select(ReportOutbox))
    key, record = row.idempotency_key, row.payload
    platform_sim.set_mode("normal")
    assert resend(clerk, cert) == 1
    # Built again from the certificate, the record is unchanged: same key, so a lost answer is no duplicate.
    assert (row.idempotency_key, row.payload) == (key, record)
    send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1


def test_a_rejected_report_can_be_resent_as_a_new_report(clerk, platform_sim):
    platform_sim.set_switches(verdict_delay=0, verdict="rejected", reject_reasons=["备案编号不存在"])
    cert = _issue(clerk)
    _deliver_and_judge(cert)
    assert (cert.report_state, cert.report_message) == ("rejected", "备案编号不存在")
    row = db.session.scalar(db.select(ReportOutbox))
    key = row.idempotency_key
    platform_sim.set_switches(verdict="auto")
    assert resend(clerk, cert) == 1
    assert row.idempotency_key != key and row.verdict is None  # judged again: a new report
    _deliver_and_judge(cert)
    assert cert.report_state == "collected" and _received(platform_sim, cert) == 2


def test_verdict_collected_and_cancellation_reported(clerk, platform_sim):
    platform_sim.set_switches(verdict_delay=0)
    cert = _issue(clerk)
    _deliver_and_judge(cert)
    assert cert.report_state == "collected"
    from portal.platform.service import person_finder
    cancel_certificate(clerk, cert, "设备拆除", find_person=person_finder())
    assert cert.report_state == "pending"
    send_due_reports()
    db.session.refresh(cert)
    operations = [rec["operateType"] for r in platform_sim.reports()["reports"] for rec in r["records"]]
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 2
    assert operations == ["01", "05"]  # 新发 then 注销


def test_a_record_that_cannot_be_rebuilt_is_resent_as_it_was_queued(clerk, platform_sim, monkeypatch):
    cert = _issue(clerk)
    row = db.session.scalar(db.select(ReportOutbox))
    row.state, cert.report_state = "failed", "failed"
    db.session.commit()
    key, record = row.idempotency_key, row.payload
    with monkeypatch.context() as newer:  # a mapping that asks for a value this older certificate lacks
        newer.setattr(payload, "RECORD", payload.RECORD + (("futureField", payload.text("future_column")),))
        assert resend(clerk, cert) == 1
    assert (row.idempotency_key, row.payload) == (key, record)
    send_due_reports()
    db.session.refresh(cert)
    assert cert.report_state == "reported" and _received(platform_sim, cert) == 1
