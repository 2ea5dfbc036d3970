"""After login the portal goes to `next` only when a browser would read it as a path on this site."""
import pytest

from portal.auth.forms import local_target
from tests.conftest import last_code


@pytest.mark.parametrize("raw, expected", [
    ("/tasks/?page=2", "/tasks/?page=2"),
    ("/maintenance/crane/7", "/maintenance/crane/7"),
    ("/证照维护?q=太原", "/证照维护?q=太原"),
    (" /tasks/ ", "/tasks/"),
    ("/%09/evil.example", "/%09/evil.example"),  # still percent-encoded: a path here
    ("/\t/evil.example/phish", None),  # the tab is dropped by the browser: //evil.example/phish
    ("/\r\n/evil.example", None),
    ("/\n/evil.example", None),
    ("/\x00/evil.example", None),
    ("/\x7f/evil.example", None),
    ("/\u3000/evil.example", None),
    ("/\\evil.example", None),  # a backslash is a slash to the browser
    ("\\\\evil.example", None),
    ("\\/evil.example", None),
    ("//evil.example", None),
    ("///evil.example", None),
    ("https://evil.example/", None),
    ("javascript:alert(1)", None),
    ("evil.example", None),
    ("", None),
    (None, None),
    ("/" + "a" * 3000, None),
])
def test_next_is_judged_after_the_browsers_normalisation(raw, expected):
    assert local_target(raw) == expected


def _login_with_next(app, client, next_value):
    login = client.post("/auth/login", query_string={"next": next_value},
                        data={"username": "clerk", "password": "Demo-clerk-2026"})
    assert login.status_code == 303
    client.post("/auth/send-code")
    return client.post("/auth/verify", data={"code": last_code(app, "13800000002")})


@pytest.mark.parametrize("next_value", ["/\t/evil.example/phish", "/\r/evil.example", "/\r\n/evil.example",
                                        "/\\evil.example", "//evil.example"])
def test_a_hostile_next_lands_on_the_menu_never_elsewhere_and_never_a_500(demo, client, next_value):
    response = _login_with_next(demo, client, next_value)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_local_next_is_followed_after_the_sms_code(demo, client):
    response = _login_with_next(demo, client, "/tasks/?page=2")
    assert response.status_code == 303 and response.headers["Location"] == "/tasks/?page=2"


def test_the_login_page_keeps_next_in_its_form_action_encoded(client):
    page = client.get("/auth/login", query_string={"next": "/\r\n/evil"}).get_data(as_text=True)
    assert "/auth/login?next=/%0D%0A/evil" in page
