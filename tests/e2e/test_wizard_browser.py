"""A clerk issues a 塔式起重机 certificate through the wizard in Chromium and opens its sealed PDF."""
import pytest

from tests.e2e.conftest import browser_login
from tests.factories import issuable_certificate, issuable_persons

pytestmark = pytest.mark.e2e
STEP1_TEXT = ("holder_name", "holder_uscc")
SELECTS = ("crane_type", "project_division", "authority_name")


def test_clerk_fills_the_wizard_switches_type_submits_and_opens_the_pdf(live_app, page):
    values = issuable_certificate()
    browser_login(page, live_app, "clerk")
    page.click("nav.sidebar >> text=证照录入")
    page.click("text=单个录入")
    for key in STEP1_TEXT:
        page.fill(f"#{key}", values[key])
    page.fill("#issue_date", values["issue_date"])
    assert page.input_value("#authority_uscc") == "11140100MB0000002K"
    page.click("button:has-text('下一步')")
    page.wait_for_selector("text=相关人员信息")

    # 业务信息 follows 设备类别 (an HTMX swap: only that type's fields exist in the page)
    page.select_option("#crane_type", "S")
    page.wait_for_selector("#hoist_rated_load")
    assert page.locator("#tower_jib_length").count() == 0
    page.select_option("#crane_type", "T")
    page.wait_for_selector("#tower_jib_length")
    assert page.locator("#hoist_rated_load").count() == 0

    for key in ("model", "record_number", "manufacturer", "serial_number", "owner_name", "owner_uscc",
                "installer_name", "installer_uscc", "supervision_name", "supervision_uscc", "project_name",
                "project_address", "location", "permit_number", "tower_jib_length", "tower_max_load",
                "tower_max_height", "tower_tip_load"):
        page.fill(f"#{key}", values[key])
    page.fill("#manufacture_date", values["manufacture_date"])
    page.select_option("#project_division", values["project_division"])

    persons = issuable_persons()
    rows = page.locator("#person-rows tr.person-row")
    assert rows.count() == len(persons)  # one row per required type, prefilled
    for i, person in enumerate(persons):
        assert page.input_value(f"select[name='persons-{i}-type_code']") == person["type_code"]
        for key in ("name", "id_number", "cert_no", "phone"):
            page.fill(f"input[name='persons-{i}-{key}']", person[key])
    # add a 1110 person by HTMX, then remove it again
    page.click("#add-person")
    page.wait_for_selector(f"select[name='persons-{len(persons)}-type_code']")
    page.locator("#person-rows tr.person-row").last.locator("text=删除").click()
    # A function, not an expression string: Playwright eval()s those in the page, which the CSP refuses.
    page.wait_for_function(f"() => document.querySelectorAll('#person-rows tr.person-row').length == {len(persons)}")

    page.click("#submit-certificate")
    page.wait_for_selector("#issued-popup")
    assert page.inner_text("#issued-number") == "140105T（2025）0000001"
    page.click("#issued-popup >> text=查看证照")
    page.wait_for_selector("text=140105T（2025）0000001")
    pdf_link = page.locator("a:has-text('电子签章')").first.get_attribute("href")
    response = page.request.get(live_app.config["LIVE_URL"] + pdf_link)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
