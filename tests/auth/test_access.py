"""Each role sees and can open only its menu entries; CSRF is enforced."""
import pytest

from portal.access import AREAS

AREA_URLS = {"delegation": "/delegation/", "entry": "/entry/", "maintenance": "/maintenance/",
             "tasks": "/tasks/", "statistics": "/statistics/", "admin": "/admin/"}
EXPECTED = {
    "admin": {"delegation", "maintenance", "tasks", "statistics", "admin"},
    "clerk": {"entry", "maintenance", "tasks"},
    "clerk2": {"entry", "maintenance", "tasks"},
    "supervisor": {"maintenance", "tasks", "statistics"},
    "delegate": {"delegation"},
}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_each_role_sees_and_opens_only_its_menu_entries(login_as, username):
    client = login_as(username)
    home = client.get("/").get_data(as_text=True)
    for area, url in AREA_URLS.items():
        allowed = area in EXPECTED[username]
        assert (f'href="{url}"' in home) == allowed, (username, area)
        response = client.get(url)
        assert response.status_code == (200 if allowed else 403), (username, area)
        if not allowed:
            assert "无权访问" in response.get_data(as_text=True)


def test_every_area_is_in_the_expectation_table():
    assert set(AREAS) == set(AREA_URLS)


def test_anonymous_is_sent_to_login_from_every_area(client):
    for url in AREA_URLS.values():
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_unknown_page_is_a_chinese_404_in_the_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


