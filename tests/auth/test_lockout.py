"""Lockout per name and per name + address: an outsider cannot lock the owner out, and everything is audited."""
import pytest

from portal.audit import AuditEntry
from portal.auth.models import ANY_SOURCE, LoginFailure
from portal.cli import demo_password
from portal.extensions import db
from tests.conftest import last_code

ATTACKER, OWNER, COLLEAGUE = "10.6.6.6", "10.1.1.1", "10.1.1.2"
CLERK_PHONE = "13800000002"


@pytest.fixture
def app_config():
    return {"SMS_RESEND_SECONDS": 0}


def _browser(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _password(client, password, username="clerk"):
    return client.post("/auth/login", data={"username": username, "password": password})


def _lock_out_clerk_from(app, address):
    attacker = _browser(app, address)
    pages = [_password(attacker, f"guess-{n}").get_data(as_text=True) for n in range(app.config["LOGIN_MAX_FAILURES"])]
    assert all("用户名或密码错误" in page for page in pages[:-1]) and "暂时锁定" in pages[-1]
    return attacker


def _audit(action):
    return db.session.scalars(db.select(AuditEntry).filter_by(action=action).order_by(AuditEntry.id)).all()


def _counts():
    return {row.source: row.attempts for row in db.session.scalars(db.select(LoginFailure).filter_by(username="clerk"))}


def test_the_locked_address_is_refused_even_with_the_right_password_without_judging_it(demo):
    attacker = _lock_out_clerk_from(demo, ATTACKER)
    response = _password(attacker, demo_password("clerk"))
    assert response.status_code == 200 and "暂时锁定" in response.get_data(as_text=True)
    assert attacker.get("/auth/verify").status_code == 302  # no pending login
    refused = _audit("login.locked")
    assert len(refused) == 1 and refused[0].ip == ATTACKER and refused[0].target == "clerk"
    assert len(_audit("login.failed")) == demo.config["LOGIN_MAX_FAILURES"]


def test_the_owner_elsewhere_gets_in_with_the_right_password_and_a_fresh_code_audited(demo):
    owner = _browser(demo, OWNER)
    assert _password(owner, demo_password("clerk")).status_code == 303
    owner.post("/auth/send-code")
    code_before_the_attack = last_code(demo, CLERK_PHONE)
    _lock_out_clerk_from(demo, ATTACKER)

    owner = _browser(demo, OWNER)
    assert _password(owner, demo_password("clerk")).status_code == 303
    page = owner.get("/auth/verify").get_data(as_text=True)
    assert "新的短信验证码" in page
    stale = owner.post("/auth/verify", data={"code": code_before_the_attack}).get_data(as_text=True)
    assert "请先点击" in stale and owner.get("/").status_code == 302
    owner.post("/auth/send-code")
    response = owner.post("/auth/verify", data={"code": last_code(demo, CLERK_PHONE)})
    assert response.status_code == 303 and owner.get("/").status_code == 200

    bypass = _audit("login.lock_bypass")
    assert len(bypass) == 1 and bypass[0].ip == OWNER and bypass[0].actor_name == "clerk"
    login = _audit("login")[-1]
    assert login.ip == OWNER and "锁定期间" in login.detail
    # The owner's login clears the name's count, not the attacker's own lock.
    assert _counts() == {ATTACKER: demo.config["LOGIN_MAX_FAILURES"]}
    assert "暂时锁定" in _password(_browser(demo, ATTACKER), demo_password("clerk")).get_data(as_text=True)


def test_a_mistyped_password_of_the_owner_during_the_lock_is_just_wrong(demo):
    _lock_out_clerk_from(demo, ATTACKER)
    owner = _browser(demo, OWNER)
    assert "用户名或密码错误" in _password(owner, "typo").get_data(as_text=True)
    assert _password(owner, demo_password("clerk")).status_code == 303
    assert _counts()[ANY_SOURCE] == demo.config["LOGIN_MAX_FAILURES"] + 2


def test_failures_from_several_addresses_lock_the_name_for_all_but_lock_no_address(demo):
    limit = demo.config["LOGIN_MAX_FAILURES"]
    for n in range(limit):
        _password(_browser(demo, f"10.9.0.{n}"), "wrong")
    assert _counts()[ANY_SOURCE] == limit
    colleague = _browser(demo, COLLEAGUE)
    assert _password(colleague, demo_password("clerk")).status_code == 303  # the name is locked: a bypass
    assert len(_audit("login.lock_bypass")) == 1
    assert "暂时锁定" not in _password(_browser(demo, "10.9.0.0"), "wrong-again").get_data(as_text=True)


def test_unknown_names_are_counted_and_locked_like_real_ones(demo):
    attacker = _browser(demo, ATTACKER)
    for _ in range(demo.config["LOGIN_MAX_FAILURES"]):
        page = _password(attacker, "whatever", username="nobody").get_data(as_text=True)
    assert "暂时锁定" in page
    assert "暂时锁定" in _password(attacker, "whatever", username="NoBody ").get_data(as_text=True)
