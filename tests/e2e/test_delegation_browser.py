"""An admin grants 太原's crane certificates to a delegate for a month; the delegate sees exactly those."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.e2e


def test_admin_grants_a_month_of_taiyuan_and_the_delegate_sees_exactly_it(live_app, page):
    from portal.delegation.services import today
    from tests.delegation.helpers import datong_certificate, taiyuan_certificate

    def issue():
        with live_app.app_context():
            return taiyuan_certificate(1, seal=True).number, datong_certificate(1).number
    # Sealing runs asyncio.run(); Playwright's loop owns this thread, so issue from another one.
    with ThreadPoolExecutor(1) as pool:
        taiyuan, datong = pool.submit(issue).result()
    url = live_app.config["LIVE_URL"]

    browser_login(page, live_app, "admin")
    page.click("nav.sidebar >> text=证照委托授权")
    page.click("text=委托授权管理")
    page.click("text=新建委托授权")
    page.select_option("#grantee", label="被授权用户（delegate）")
    page.check("#field-authorities label:has-text('太原市住房和城乡建设局') input")
    page.fill("#end_date", (today() + timedelta(days=30)).isoformat())
    page.click("button:has-text('授权')")
    page.wait_for_selector(".alert-success")
    assert "已授权 delegate" in page.inner_text(".alert-success")
    row = page.inner_text("#grants tbody tr")
    assert "太原市住房和城乡建设局" in row and "有效" in row
    page.click("button:has-text('退出')")
    page.wait_for_selector("text=用户登录")

    browser_login(page, live_app, "delegate")
    page.click("nav.sidebar >> text=证照委托授权")
    assert "建筑起重机械使用登记证书" in page.inner_text("#my-grants")
    page.click("#my-grants >> text=进入")
    page.wait_for_selector("#delegated-rows")
    rows = page.inner_text("#delegated-rows tbody")
    assert taiyuan in rows and datong not in rows
    assert "共 1 条" in page.inner_text("#delegated-rows .pager")
    page.click("#delegated-rows >> text=查看")
    page.wait_for_selector("text=照面信息")
    assert page.is_disabled("button:has-text('变更')")
    assert "不可变更" in page.inner_text("main") and "R13" not in page.inner_text("main")
    pdf = page.request.get(url + page.get_attribute("#sealed-pdf", "href"))  # same session cookies
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
