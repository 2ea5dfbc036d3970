"""Sessions end on the server: logout, a new login, a password reset and disabling void earlier cookies."""
import pytest

from portal.auth.models import User
from portal.extensions import db
from tests.conftest import Auth


@pytest.fixture
def app_config():
    return {"SMS_RESEND_SECONDS": 0}  # the same user logs in twice within a minute


def _user(name):
    return db.session.scalar(db.select(User).filter_by(username=name))


def _copy_of(app, client):
    """Another browser holding a copy of this client's session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def _signed_in(client):
    return client.get("/").status_code == 200


def test_a_cookie_copied_before_logout_no_longer_works(demo, auth, client):
    auth.login("clerk")
    copy = _copy_of(demo, client)
    assert _signed_in(copy)
    assert auth.logout().status_code == 303
    response = copy.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert copy.get("/maintenance/crane").status_code == 302


def test_a_new_login_ends_the_earlier_session_elsewhere(demo, auth, client):
    auth.login("clerk")
    first_browser = _copy_of(demo, client)
    second_browser = demo.test_client()
    Auth(demo, second_browser).login("clerk")
    assert _signed_in(second_browser)
    assert not _signed_in(first_browser) and not _signed_in(client)


@pytest.mark.parametrize("change", ["password", "disable"])
def test_an_admin_resetting_the_password_or_disabling_ends_the_users_sessions(demo, auth, client, change):
    auth.login("clerk")
    clerk_browser = _copy_of(demo, client)
    admin = demo.test_client()
    Auth(demo, admin).login("admin")
    clerk = _user("clerk")
    if change == "password":
        response = admin.post(f"/admin/users/{clerk.id}/password", data={"password": "a-brand-new-pass"})
    else:
        response = admin.post(f"/admin/users/{clerk.id}/enabled", data={"enabled": "0"})
    assert response.status_code == 303
    assert not _signed_in(clerk_browser)
    assert _signed_in(admin)  # the admin's own session is untouched


def test_two_users_sessions_are_independent(demo, auth, client):
    auth.login("clerk")
    other = demo.test_client()
    Auth(demo, other).login("supervisor")
    assert _signed_in(client) and _signed_in(other)
    Auth(demo, other).logout()
    assert _signed_in(client) and not _signed_in(other)
