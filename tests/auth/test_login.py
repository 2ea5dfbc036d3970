"""Login (manual §一): password, SMS code, lockout, session handling."""
from datetime import timedelta

from portal.audit import AuditEntry
from portal.auth.models import SmsCode, User
from portal.cli import demo_password
from portal.clock import utcnow
from portal.extensions import db
from tests.conftest import last_code, read_outbox


def _password_step(client, username="clerk", password=None):
    return client.post("/auth/login", data={"username": username, "password": password or demo_password(username)})


def test_login_page_renders_in_chinese(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert "用户登录" in page and 'lang="zh-CN"' in page and "htmx-2.0.11.min.js" in page


def test_full_login_with_sms_code_lands_on_menu(demo, client):
    assert _password_step(client).status_code == 303
    page = client.get("/auth/verify").get_data(as_text=True)
    assert "138****0002" in page and "发送短信验证码" in page
    sent = client.post("/auth/send-code", headers={"HX-Request": "true"})
    assert sent.status_code == 200 and "<html" not in sent.get_data(as_text=True)
    assert 'id="code-status"' in sent.get_data(as_text=True)
    message = read_outbox(demo)[-1]
    assert set(message) == {"phone", "text", "sent_at"} and message["phone"] == "13800000002"
    response = client.post("/auth/verify", data={"code": last_code(demo, "13800000002")})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "证照录入" in home and "证照维护" in home and "退出" in home
    assert db.session.scalar(db.select(AuditEntry).filter_by(action="login", actor_name="clerk"))


def test_menu_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_wrong_password_and_unknown_user_get_the_same_message(demo, client):
    wrong = _password_step(client, "clerk", "not-the-password").get_data(as_text=True)
    unknown = _password_step(client, "nobody", "not-the-password").get_data(as_text=True)
    assert "用户名或密码错误" in wrong and "用户名或密码错误" in unknown
    assert client.get("/auth/verify").status_code == 302  # no pending login after a failure


def test_repeated_wrong_passwords_lock_the_account_and_unknown_names_alike(demo, client):
    for name in ("clerk", "nobody"):
        for _ in range(demo.config["LOGIN_MAX_FAILURES"]):
            page = _password_step(client, name, "wrong-password").get_data(as_text=True)
        assert "暂时锁定" in page
    # Even the right password is refused while locked, with the same message.
    assert "暂时锁定" in _password_step(client, "clerk").get_data(as_text=True)
    assert "暂时锁定" in _password_step(client, "nobody", "x" * 10).get_data(as_text=True)


def test_lock_expires(demo, client):
    for _ in range(demo.config["LOGIN_MAX_FAILURES"]):
        _password_step(client, "clerk", "wrong-password")
    from portal.auth.models import LoginFailure
    assert db.session.execute(db.update(LoginFailure).values(locked_until=utcnow() - timedelta(seconds=1))).rowcount == 2
    db.session.commit()
    assert _password_step(client).status_code == 303


def test_code_cannot_be_resent_within_60_seconds(demo, client):
    _password_step(client)
    assert client.post("/auth/send-code").status_code == 200
    again = client.post("/auth/send-code")
    assert again.status_code == 429 and "秒后再重新获取" in again.get_data(as_text=True)
    assert len(read_outbox(demo)) == 1


def test_expired_code_is_refused(demo, client):
    _password_step(client)
    client.post("/auth/send-code")
    code = last_code(demo, "13800000002")
    sms = db.session.scalar(db.select(SmsCode))
    sms.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = client.post("/auth/verify", data={"code": code}).get_data(as_text=True)
    assert "验证码已过期" in page
    assert client.get("/").status_code == 302


def test_code_is_single_use(demo, client):
    _password_step(client)
    client.post("/auth/send-code")
    code = last_code(demo, "13800000002")
    assert client.post("/auth/verify", data={"code": code}).status_code == 303
    client.post("/auth/logout")
    _password_step(client)
    page = client.post("/auth/verify", data={"code": code}).get_data(as_text=True)
    assert "请先点击" in page  # the used code is gone; a new one must be requested


def test_five_wrong_codes_void_the_code(demo, client):
    _password_step(client)
    client.post("/auth/send-code")
    code = last_code(demo, "13800000002")
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(5):
        page = client.post("/auth/verify", data={"code": wrong}).get_data(as_text=True)
    assert "已失效" in page
    page = client.post("/auth/verify", data={"code": code}).get_data(as_text=True)
    assert "请先点击" in page and client.get("/").status_code == 302


def test_disabled_user_cannot_log_in(demo, client):
    user = db.session.scalar(db.select(User).filter_by(username="clerk"))
    user.is_enabled = False
    db.session.commit()
    assert "已停用" in _password_step(client).get_data(as_text=True)


def test_session_is_rotated_at_login_and_cookie_flags(demo, client):
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    response = _password_step(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "planted" not in session


def test_disabling_a_user_ends_their_session(demo, auth, client):
    auth.login("clerk")
    assert client.get("/").status_code == 200
    user = db.session.scalar(db.select(User).filter_by(username="clerk"))
    user.is_enabled = False
    user.session_version += 1
    db.session.commit()
    assert client.get("/").status_code == 302


def test_logout_requires_post_and_ends_session(demo, auth, client):
    auth.login("clerk")
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 303
    assert client.get("/").status_code == 302


def test_password_is_hashed_with_scrypt(demo):
    user = db.session.scalar(db.select(User).filter_by(username="admin"))
    assert user.password_hash.startswith("scrypt:") and demo_password("admin") not in user.password_hash
