"""A person logs in with password and SMS code in real Chromium and lands on the menu."""
import pytest

from tests.conftest import last_code
from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.e2e


def test_clerk_logs_in_with_sms_code_and_sees_the_menu(live_app, page):
    browser_login(page, live_app, "clerk")
    menu = page.inner_text("nav.sidebar")
    assert "证照录入" in menu and "证照维护" in menu and "任务管理" in menu
    assert "系统管理" not in menu
    assert "欢迎" in page.inner_text("h1")
    page.click("button:has-text('退出')")
    page.wait_for_selector("text=用户登录")


def test_wrong_code_shows_a_chinese_message_in_the_browser(live_app, page):
    page.goto(live_app.config["LIVE_URL"] + "/auth/login")
    page.fill("#username", "admin")
    page.fill("#password", "Demo-admin-2026")
    page.click("button:has-text('登录')")
    page.click("#send-code")
    page.wait_for_selector("#code-status .alert-success")
    real = last_code(live_app, "13800000001")
    page.fill("#code", "000000" if real != "000000" else "111111")
    page.click("button:has-text('确定')")
    assert "验证码错误，还可尝试 4 次" in page.inner_text(".login-card")
    assert page.url.endswith("/auth/verify")
