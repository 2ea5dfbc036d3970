"""The one business clock: Beijing's date and time wherever people read one, UTC where it is stored.

23:30 UTC is 07:30 of the next day in Beijing; 2026-12-31 16:30 UTC is 2027-01-01 00:30 in Beijing.
"""
import re
from datetime import date, datetime, timezone

import pytest

from portal import clock
from portal.auth.models import User
from portal.certificates.issuing import cancel_certificate, issue_certificate
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.platform.models import ReportOutbox
from portal.platform.service import person_finder
from portal.standard.rules import CheckContext, check_certificate
from tests.entry.test_wizard import _form
from tests.factories import issuable_certificate, issuable_persons
from tests.standard.factories import valid_certificate, valid_persons

LATE_EVENING_UTC = datetime(2026, 6, 1, 23, 30, tzinfo=timezone.utc)  # Beijing: 2026-06-02 07:30
NEW_YEAR_UTC = datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)  # Beijing: 2027-01-01 00:30


def _clerk():
    return db.session.scalar(db.select(User).filter_by(username="clerk"))


def _default_issue_date(page):
    return re.search(r'name="issue_date" type="date" value="([^"]*)"', page).group(1)


def test_the_business_date_is_beijings_while_stored_times_stay_utc():
    with clock.travel_to(NEW_YEAR_UTC):
        assert clock.today() == date(2027, 1, 1)
        stored = clock.utcnow()
        assert stored.tzinfo is None and stored.date() == date(2026, 12, 31) and stored.hour == 16
        assert clock.format_time(stored, "%Y-%m-%d %H:%M") == "2027-01-01 00:30"
    assert clock.format_time(None) == "—"


def test_the_business_timezone_is_a_setting():
    try:
        clock.set_timezone("UTC")
        with clock.travel_to(NEW_YEAR_UTC):
            assert clock.today() == date(2026, 12, 31)
    finally:
        clock.set_timezone(clock.DEFAULT_TIMEZONE)


@pytest.mark.parametrize("app_config", [{"BUSINESS_TIMEZONE": "Europe/London"}])
def test_the_app_sets_the_clock_from_its_configuration(app):
    try:
        assert clock.business_timezone().key == "Europe/London"
    finally:
        clock.set_timezone(clock.DEFAULT_TIMEZONE)


def test_at_2330_utc_the_rules_take_beijings_today():
    with clock.travel_to(LATE_EVENING_UTC):
        ctx = CheckContext()
        assert ctx.today == date(2026, 6, 2)
        today = valid_certificate(issue_date="2026-06-02", permit_number="140105202606020101")
        assert check_certificate(today, valid_persons(), ctx) == []
        tomorrow = check_certificate(valid_certificate(issue_date="2026-06-03"), valid_persons(), ctx)
        assert [(e.rule, e.key) for e in tomorrow] == [("R11", "issue_date")]
        assert "2026-06-02" in tomorrow[0].message  # «晚于今天（2026-06-02）»


def test_at_2330_utc_the_wizard_offers_and_issues_beijings_date(login_as):
    with clock.travel_to(LATE_EVENING_UTC):
        client = login_as("clerk")
        assert _default_issue_date(client.get("/entry/crane/new").get_data(as_text=True)) == "2026-06-02"
        response = client.post("/entry/crane/new", data=_form(issuable_certificate(issue_date="2026-06-02")))
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    cert = db.session.scalar(db.select(Certificate))
    assert cert.issue_date == date(2026, 6, 2) and cert.number == "140105T（2026）0000001"


def test_at_new_year_the_wizards_date_gives_the_new_years_number(login_as):
    with clock.travel_to(NEW_YEAR_UTC):
        client = login_as("clerk")
        issue_date = _default_issue_date(client.get("/entry/crane/new").get_data(as_text=True))
        assert issue_date == "2027-01-01"
        response = client.post("/entry/crane/new", data=_form(issuable_certificate(issue_date=issue_date)))
        assert response.status_code == 303
    assert db.session.scalar(db.select(Certificate.number)) == "140105T（2027）0000001"


def test_a_cancellation_at_new_year_is_dated_2027_in_the_history_report_and_verification(demo, runner, tmp_path):
    clerk = _clerk()
    cert = issue_certificate(clerk, issuable_certificate(), issuable_persons())
    out = tmp_path / "cert.pdf"
    assert runner.invoke(args=["certs", "pdf", cert.number, str(out)]).exit_code == 0
    with clock.travel_to(NEW_YEAR_UTC):
        cancel_certificate(clerk, cert, "设备已拆除", find_person=person_finder())
    assert cert.cancelled_at.date() == date(2026, 12, 31)  # stored: UTC
    cancel = db.session.scalar(db.select(ReportOutbox).filter_by(operation="cancel"))
    assert cancel.payload["operateDate"] == "2027-01-01"
    result = runner.invoke(args=["certs", "verify", str(out)])
    assert "已注销（2027-01-01）" in result.output and "2026-12-31" not in result.output


def test_the_audit_log_shows_beijing_time(login_as):
    with clock.travel_to(NEW_YEAR_UTC):
        admin = login_as("admin")  # the login itself is audited
        page = admin.get("/admin/audit").get_data(as_text=True)
    assert re.search(r"2027-01-01 00:3\d:\d\d", page) and "2026-12-31 16:3" not in page
