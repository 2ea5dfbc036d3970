"""axe-core over every page of the portal in Chromium at 1366×768: no serious or critical finding (nor an
empty table header); the lists do not wrap their numbers and dates; htmx refusals are shown in the page.

axe-core comes from npm (`.ci/run` installs it; AXE_CORE_JS names the file): without it the test skips
locally and fails under REQUIRE_SERVICES=1. It is injected as an init script, which the page's CSP does
not govern, so the CSP watch of the `page` fixture stays on.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import need_service
from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AXE_CANDIDATES = (os.environ.get("AXE_CORE_JS", ""), str(ROOT / ".ci/axe/node_modules/axe-core/axe.min.js"),
                  str(ROOT / "node_modules/axe-core/axe.min.js"))
# Findings of these impacts fail a page; empty-table-header (minor) was reported in issue 15, so it fails too.
FAILING_IMPACTS = ("serious", "critical")
ALSO_FAILING_RULES = ("empty-table-header",)
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n")[1])}));
}"""
LINES_OF = """(cells) => cells.map(cell => {
  const range = document.createRange(); range.selectNodeContents(cell);
  return [cell.textContent.trim(), new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
})"""


@pytest.fixture(scope="module")
def axe_path():
    path = next((p for p in AXE_CANDIDATES if p and os.path.exists(p)), None)
    need_service("axe-core", path is not None, "npm install axe-core (see .ci/run), or set AXE_CORE_JS")
    return path


def _world(app):
    """Certificates (one cancelled, one imported with failed rows), a grant: every page has content."""
    from portal.certificates.issuing import cancel_certificate
    from portal.imports.services import start_import
    from portal.platform.service import person_finder
    from tests.delegation.helpers import grant, taiyuan_certificate, user
    from tests.imports.helpers import import_zip, mixed_rows
    with app.app_context():
        valid = taiyuan_certificate(1, seal=True, record_number="晋AA-T50899")
        cancelled = taiyuan_certificate(2, seal=True)
        cancel_certificate(user("clerk"), cancelled, "设备已拆除", find_person=person_finder())
        task = start_import(user("clerk"), "第一批.zip", import_zip(mixed_rows()))
        from portal.certificates.models import Certificate
        from portal.extensions import db
        still_working = db.session.scalar(db.select(Certificate).filter_by(import_task_id=task.id).limit(1))
        still_working.pdf_state = still_working.ofd_state = still_working.report_state = "pending"  # workers busy
        db.session.commit()
        g = grant()
        return {"valid": valid.id, "cancelled": cancelled.id, "token": valid.verify_token, "task": task.id,
                "pending_token": still_working.verify_token,
                "grant": g.id, "user": user("clerk2").id, "authority": user("clerk").authorities[0].id}


def _check(page, findings, name):
    found = page.evaluate(RUN_AXE)
    bad = [f for f in found if f["impact"] in FAILING_IMPACTS or f["id"] in ALSO_FAILING_RULES]
    findings.extend(f"{name}: {f['id']} ({f['impact']}) {f['nodes']}" for f in bad)


def test_axe_finds_nothing_serious_on_any_page(live_app, page, axe_path):
    with ThreadPoolExecutor(1) as pool:  # sealing runs asyncio.run(): not on Playwright's loop
        world = pool.submit(_world, live_app).result()
    url = live_app.config["LIVE_URL"]
    page.set_viewport_size({"width": 1366, "height": 768})
    page.context.add_init_script(path=axe_path)
    findings = []

    def visit(name, path, ready="main"):
        page.goto(url + path)
        page.wait_for_selector(ready)
        _check(page, findings, name)

    visit("公开查询", "/public/")
    visit("公开查询结果", "/public/?kind=number&q=140105T%EF%BC%882025%EF%BC%890000001")
    visit("证书核验", f"/public/verify/{world['token']}")
    visit("查无此证", "/public/verify/unknown-token-0000000000")
    visit("电子证照暂无法出具（PDF）", f"/public/verify/{world['pending_token']}/pdf")
    visit("电子证照暂无法出具（OFD）", f"/public/verify/{world['pending_token']}/ofd")
    visit("文件核验", "/public/verify-file")
    page.set_input_files("#file", files=[{"name": "x.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"}])
    page.click("button:has-text('核验')")
    page.wait_for_selector("#file-verdict")
    _check(page, findings, "文件核验结果")
    from portal.public.services import SlidingWindowLimiter
    lookup_limiter = live_app.extensions.get("public_lookup_limiter")
    live_app.extensions["public_lookup_limiter"] = SlidingWindowLimiter(0, 60)  # every lookup over the limit
    try:
        assert page.goto(url + "/public/?kind=number&q=x").status == 429
        _check(page, findings, "查询过于频繁（429）")
    finally:
        live_app.extensions["public_lookup_limiter"] = lookup_limiter or SlidingWindowLimiter(1000, 60)
    visit("登录", "/auth/login")
    visit("请先登录", "/maintenance/", ready=".login-card")

    browser_login(page, live_app, "clerk")
    _check(page, findings, "首页")
    for name, path in (("证照录入", "/entry/"), ("第一步", "/entry/crane/new"), ("批量导入", "/entry/crane/import/"),
                       ("证照维护", "/maintenance/"), ("证照维护列表", "/maintenance/crane"),
                       ("查看", f"/maintenance/crane/{world['valid']}"),
                       ("查看已注销", f"/maintenance/crane/{world['cancelled']}"),
                       ("打印", f"/maintenance/crane/{world['valid']}/print"),
                       ("任务列表", "/tasks/"), ("任务详情", f"/tasks/{world['task']}"),
                       ("404", "/maintenance/crane/999999")):
        visit(name, path)
    page.goto(url + f"/maintenance/crane/{world['valid']}")
    page.click("#print-view")
    page.wait_for_selector(".print-sheet")
    page.emulate_media(media="print")  # on paper: the facts, no toolbar
    assert not page.is_visible(".print-toolbar") and page.is_visible(".print-head h1")
    page.emulate_media(media="screen")
    page.goto(url + "/maintenance/crane")
    lines = page.eval_on_selector_all("#certificate-rows td.mono, #certificate-rows td.date", LINES_OF)
    assert lines and all(count == 1 for _, count in lines), [x for x in lines if x[1] != 1]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    assert page.locator("#certificate-rows a.tag").count() >= 1  # 生成中/待上报 of the import: to its task

    page.goto(url + "/entry/crane/new")
    page.fill("#holder_name", "山西测试建筑有限公司")
    page.click("button:has-text('下一步')")
    page.wait_for_selector("main .alert-danger")
    _check(page, findings, "第一步（有错误）")
    page.goto(url + "/entry/crane/new")
    from tests.factories import issuable_certificate
    values = issuable_certificate()
    for key in ("holder_name", "holder_uscc", "issue_date"):
        page.fill(f"#{key}", values[key])
    page.click("button:has-text('下一步')")
    page.wait_for_selector("#person-rows")
    _check(page, findings, "第二步")
    page.fill("input[name='persons-0-id_number']", "123")
    page.click("#submit-certificate")
    page.wait_for_selector("#person-rows tr.person-errors")
    _check(page, findings, "第二步（有错误）")
    assert page.get_attribute("input[name='persons-0-id_number']", "aria-invalid") == "true"
    delete = page.locator("#person-rows tr.person-row").first.locator("text=删除")
    assert delete.evaluate("b => b.getClientRects().length") == 1  # «删除» on one line
    page.click("button:has-text('退出')")
    page.wait_for_selector(".login-card")
    assert page.locator(".login-page .content > .alert").count() == 1  # 您已安全退出, above the card
    box, card = page.locator(".content > .alert").bounding_box(), page.locator(".login-card").bounding_box()
    assert box["y"] + box["height"] <= card["y"] and abs(box["x"] - card["x"]) < 2
    _check(page, findings, "已退出")

    browser_login(page, live_app, "supervisor")
    visit("委托授权管理", "/delegation/grants")
    visit("新建委托授权", "/delegation/grants/new")
    visit("任务详情（主管）", f"/tasks/{world['task']}")
    visit("统计分析（主管）", "/statistics/", ready="canvas")
    page.click("button:has-text('退出')")

    browser_login(page, live_app, "delegate")
    for name, path in (("证照委托授权", "/delegation/"),
                       ("被授权证照", f"/delegation/{world['grant']}/certificates"),
                       ("被授权查看", f"/delegation/{world['grant']}/certificates/{world['valid']}"),
                       ("被授权打印", f"/delegation/{world['grant']}/certificates/{world['valid']}/print"),
                       ("403", "/maintenance/crane")):
        visit(name, path)
    listed = page.locator("#delegated-rows button:has-text('变更')").first
    page.goto(url + f"/delegation/{world['grant']}/certificates")
    assert listed.is_disabled() and listed.evaluate("b => getComputedStyle(b).cursor") == "not-allowed"
    assert listed.evaluate("b => getComputedStyle(b).color") == "rgb(75, 85, 99)"  # grey, not the links' blue
    page.goto(url + f"/delegation/{world['grant']}/certificates/{world['valid']}")
    change = page.locator("button:has-text('变更')")
    assert change.is_disabled() and "R13" not in page.inner_text("main")
    assert change.evaluate("b => getComputedStyle(b).borderStyle") == "dashed"  # looks disabled
    page.click("button:has-text('退出')")

    browser_login(page, live_app, "admin")
    for name, path in (("系统概览", "/admin/"), ("用户管理", "/admin/users"), ("新建用户", "/admin/users/new"),
                       ("修改用户", f"/admin/users/{world['user']}"), ("发证机关", "/admin/authorities"),
                       ("发证机关表单", f"/admin/authorities/{world['authority']}"), ("审计日志", "/admin/audit"),
                       ("管理员查看已注销", f"/maintenance/crane/{world['cancelled']}")):
        visit(name, path)
    visit("统计分析", "/statistics/", ready="canvas")
    visit("统计分析（日期有误）", "/statistics/?issued_from=2026-13-01")
    assert not findings, "\n".join(findings)


def test_an_htmx_refusal_is_shown_in_the_page(live_app, page):
    """The SMS resend within 60 s answers 429: its message appears in the page's alert region."""
    from portal.cli import demo_password
    url = live_app.config["LIVE_URL"]
    page.goto(url + "/auth/login")
    page.fill("#username", "clerk")
    page.fill("#password", demo_password("clerk"))
    page.click("button:has-text('登录')")
    page.click("#send-code")
    page.wait_for_selector("#code-status .alert-success")
    page.click("#send-code")
    page.wait_for_selector("#htmx-alerts .alert-danger")
    assert "秒后再重新获取" in page.inner_text("#htmx-alerts")
    assert page.get_attribute("#htmx-alerts", "role") == "alert"
