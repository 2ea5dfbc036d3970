"""Guesses sent at once are all counted, and no more are judged than the limit allows (PostgreSQL)."""
import pytest
import requests

from portal.audit import AuditEntry
from portal.auth.models import ANY_SOURCE, LoginFailure, SmsCode
from portal.cli import demo_password
from portal.extensions import db
from tests.conftest import last_code
from tests.parallel import at_once, browser_with_cookie, password_step

pytestmark = pytest.mark.postgres
GUESSES = 20


def _audited(app, action):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(AuditEntry.id)).filter_by(action=action))


def test_parallel_wrong_passwords_are_all_counted_and_only_the_limit_is_judged(live_postgres_app):
    app = live_postgres_app
    url = app.config["LIVE_URL"] + "/auth/login"
    pages = at_once(GUESSES, lambda n: requests.post(url, data={"username": "clerk", "password": f"guess-{n}"}).text)
    limit = app.config["LOGIN_MAX_FAILURES"]
    assert _audited(app, "login.failed") == limit
    assert _audited(app, "login.locked") == GUESSES - limit
    assert sum("暂时锁定" in page for page in pages) == GUESSES - limit + 1  # the refused ones and the last judged
    with app.app_context():
        counts = {row.source: row.attempts for row in db.session.scalars(db.select(LoginFailure))}
    assert counts == {"127.0.0.1": GUESSES, ANY_SOURCE: GUESSES}
    right = requests.post(url, data={"username": "clerk", "password": demo_password("clerk")}, allow_redirects=False)
    assert right.status_code == 200 and "暂时锁定" in right.text


def _pending_session_with_code(app):
    session, phone = password_step(app, "clerk", demo_password("clerk"))
    assert session.post(app.config["LIVE_URL"] + "/auth/send-code").status_code == 200
    return session.cookies.get("session"), last_code(app, phone)


def test_parallel_wrong_codes_judge_no_more_than_the_allowed_tries(live_postgres_app):
    app = live_postgres_app
    cookie, code = _pending_session_with_code(app)
    wrong = "000000" if code != "000000" else "111111"
    url = app.config["LIVE_URL"] + "/auth/verify"
    at_once(GUESSES, lambda n: browser_with_cookie(app, cookie).post(url, data={"code": wrong}, allow_redirects=False))
    assert _audited(app, "login.code_failed") == app.config["SMS_MAX_ATTEMPTS"]
    with app.app_context():
        sms = db.session.scalar(db.select(SmsCode))
        assert sms.voided and sms.used_at is None and sms.attempts >= app.config["SMS_MAX_ATTEMPTS"]
    late = browser_with_cookie(app, cookie).post(url, data={"code": code}, allow_redirects=False)
    assert late.status_code == 200 and "请先点击" in late.text


def test_one_right_code_sent_many_times_at_once_logs_in_once(live_postgres_app):
    app = live_postgres_app
    cookie, code = _pending_session_with_code(app)
    url = app.config["LIVE_URL"] + "/auth/verify"
    answers = at_once(10, lambda n: browser_with_cookie(app, cookie).post(url, data={"code": code},
                                                                          allow_redirects=False))
    logged_in = [a for a in answers if a.status_code == 303]
    assert len(logged_in) == 1 and logged_in[0].headers["Location"] == "/"
    # The others are refused: the code is used, its tries are used up (those beyond SMS_MAX_ATTEMPTS),
    # or the login it completed has ended this pending one (302 to the login page).
    assert all(a.status_code in (200, 302) for a in answers if a is not logged_in[0])
    assert _audited(app, "login") == 1
