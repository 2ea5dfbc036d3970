"""CSRF protection is on for every POST (the other tests switch it off for brevity)."""
import pytest

from portal.cli import demo_password


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_post_without_csrf_token_is_refused_and_changes_nothing(demo, client):
    response = client.post("/auth/login", data={"username": "clerk", "password": demo_password("clerk")})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert client.get("/auth/verify").status_code == 302
    response = client.post("/auth/send-code")
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_post_with_the_page_token_is_accepted(demo, client):
    import re
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"username": "clerk", "password": demo_password("clerk"),
                                                "csrf_token": token})
    assert response.status_code == 303
